import { z } from 'zod';
import { cycleList, record } from '../http/answers';

export const TimelineAnswer = cycleList('events');
export const StateAnswer = record({ cycleId: z.string(), source: z.string(), state: record({}) });
export const ApplicationsAnswer = cycleList('applications', record({ applicationId: z.string() }));
export const RankingsAnswer = cycleList('rankings');
export const AwardeesAnswer = record({ cycleId: z.string(), decisions: z.array(record({})), active: z.array(record({ applicationId: z.string() })) });
export const GrantsAnswer = cycleList('grants');
export const OwedAnswer = record({ cycleId: z.string(), stage: z.string(), owed: z.array(record({})) });
