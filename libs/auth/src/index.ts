// Public surface of @concentra/auth: roles, principals and their signed tokens. No Nest, no HTTP:
// the admin API, the CLI and the tools import it, never each other.
export * from './roles';
export * from './tokens';
export * from './oidc';
