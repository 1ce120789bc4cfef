import { z } from 'zod';
import { instant, record } from '../http/answers';

const lines = z.array(z.string()).describe('the report in sentences');
const explanation = z.string().nullable().describe('the first broken link, in words; null when every chain holds');

export const AuditTimelineAnswer = record({ cycleId: z.string(), entries: z.array(record({})), lines });
export const VerifyCycleAnswer = record({ cycleId: z.string(), explanation });
export const VerifyAllAnswer = record({ explanation });
export const RederiveAnswer = record({ cycleId: z.string(), lines });
export const ExportAnswer = record({}).describe('the bundle: histories, events, policies and a manifest of SHA-256 hashes');
export const CrossCheckAnswer = record({ cycleId: z.string(), manifest: z.unknown() });
export const AccessLogAnswer = z.array(record({ at: instant, who: z.unknown(), action: z.string() }));
