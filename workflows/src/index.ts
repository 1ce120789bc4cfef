// The workflow bundle's entry: every workflow type the worker registers.
export { programCycle } from './program-cycle.workflow';
