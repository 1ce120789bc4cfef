import type { DataSource } from 'typeorm';
import { Directory } from '../directory/directory';
import { OutboxAddresser } from './addresser';
import { DeliveryRelay, systemClock, type Clock } from './relay';
import { EmailSender, WebhookSender } from './senders';
import { DEFAULT_RETRY, type RetrySchedule } from './retry';

export interface RelayOptions {
  smtpUrl: string | null;
  clock?: Clock;
  schedule?: RetrySchedule;
  /** How often the loop looks for work when there was none. */
  idleMs?: number;
}

/**
 * The notification relay that runs inside each worker process: addresses new outbox rows, then
 * delivers what is due, and again. A plain loop rather than a Temporal workflow per message: the
 * outbox is already the durable record (PostgreSQL rows with attempts and next-attempt times) and
 * several relays share it through row locks, so a workflow per message would only add a second
 * copy of that state and a history per email; time in tests is driven through the injected clock.
 */
export class NotificationRelay {
  readonly addresser: OutboxAddresser;
  readonly relay: DeliveryRelay;
  private readonly email: EmailSender | null;
  private stopping = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(
    db: DataSource,
    private readonly options: RelayOptions,
    private readonly log: (message: string) => void = () => undefined,
  ) {
    const clock = options.clock ?? systemClock;
    this.email = options.smtpUrl ? new EmailSender(options.smtpUrl) : null;
    this.addresser = new OutboxAddresser(db, new Directory(db));
    this.relay = new DeliveryRelay(db, { email: this.email, webhook: new WebhookSender() }, clock, options.schedule ?? DEFAULT_RETRY);
  }

  /** One pass: everything addressable addressed, everything due tried once. */
  async runOnce(): Promise<{ addressed: number; attempts: number }> {
    const now = (this.options.clock ?? systemClock).now();
    const addressed = await this.addresser.addressPending(now);
    const attempts = await this.relay.deliverDue();
    return { addressed, attempts };
  }

  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = (async () => {
      while (!this.stopping) {
        let busy = false;
        try {
          const pass = await this.runOnce();
          busy = pass.addressed > 0 || pass.attempts > 0;
        } catch (error) {
          // PostgreSQL away, say: the rows stay where they are and the next pass takes them.
          this.log(`notification relay pass failed: ${(error as Error).message}`);
        }
        if (!busy && !this.stopping) await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.options.idleMs ?? 1000);
          this.wake = () => { clearTimeout(timer); resolve(); };
        });
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    this.loop = null;
    this.email?.close();
  }
}
