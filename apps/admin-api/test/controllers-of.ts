export { controllersOf } from '../src/http/routes';
