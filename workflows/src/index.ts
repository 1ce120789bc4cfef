// The workflow bundle's entry: every workflow type the worker registers.
export { programCycle, programCycleOpeningLater } from './program-cycle.workflow';
export { computeGrant } from './compute-grant.workflow';
