/** Who someone is to the program. The admin API, the CLI and the tools issue and check these. */
export const ROLES = ['admin', 'program_manager', 'reviewer', 'evaluator', 'applicant', 'auditor'] as const;
export type Role = (typeof ROLES)[number];
