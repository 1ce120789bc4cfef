import { EventStore1764288000000 } from './1764288000000-event-store';
import { ReadModels1764288100000 } from './1764288100000-read-models';

/** In order. Migrations are written by hand and reviewed; never generated and applied unread. */
export const migrations = [EventStore1764288000000, ReadModels1764288100000];
