// Test output shows Temporal's warnings and errors only, not every worker state change.
import { DefaultLogger, Runtime } from '@temporalio/worker';

Runtime.install({ logger: new DefaultLogger('WARN') });
