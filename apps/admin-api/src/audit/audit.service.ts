import { Inject, Injectable } from '@nestjs/common';
import { Client } from '@temporalio/client';
import { DataSource } from 'typeorm';
import { DomainError } from '@concentra/domain';
import { EventStore, cycleStateAsOf, type StoredEvent } from '@concentra/persistence';
import {
  AUDIT_ACCESS_EVENT,
  auditAccessStream,
  checkManifest,
  crossCheck,
  describeBrokenLink,
  exportCycleBundle,
  formatRederivation,
  formatTimeline,
  grantPrefixOf,
  notificationEntries,
  rederive,
  timeline,
  verifyChains,
  verifyEventChains,
  withNotifications,
} from '@concentra/audit';
import { NotificationReads } from '@concentra/notifications';


/** Read-only: every method reads events, projections or Temporal histories and changes nothing (but the access log). */
@Injectable()
export class AuditService {
  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(Client) private readonly temporal: Client,
  ) {}

  /** The cycle's stream and its grants' streams, in global order. */
  private async eventsOf(cycleId: string): Promise<StoredEvent[]> {
    let prefix: string;
    try {
      prefix = grantPrefixOf(cycleId);
    } catch (error) {
      throw new DomainError('validation_failed', (error as Error).message, 'id');
    }
    const events = [...(await this.store.readStream(cycleId)), ...(await this.store.readStreamsWithPrefix(prefix))];
    if (events.length === 0) throw new DomainError('not_found', `no events for cycle '${cycleId}'`, 'id');
    return events.sort((a, b) => a.globalPosition - b.globalPosition);
  }

  async timeline(cycleId: string) {
    const events = timeline(await this.eventsOf(cycleId));
    // Who was told: auditors read no email addresses (personal data), only their domains.
    const told = await new NotificationReads(this.db).forCycle(cycleId, { maskAddresses: true });
    const entries = withNotifications(events, notificationEntries(cycleId, told));
    return { cycleId, entries, lines: formatTimeline(entries) };
  }

  async verifyCycle(cycleId: string) {
    const report = verifyEventChains(await this.eventsOf(cycleId));
    return { cycleId, ...report, explanation: report.firstBroken ? describeBrokenLink(report.firstBroken) : null };
  }

  async verifyAll() {
    const report = await verifyChains(this.db);
    return { ...report, explanation: report.firstBroken ? describeBrokenLink(report.firstBroken) : null };
  }

  async rederive(cycleId: string) {
    const report = rederive(await this.eventsOf(cycleId));
    return { cycleId, ...report, lines: formatRederivation(report) };
  }

  async stateAsOf(cycleId: string, asOf: string) {
    return cycleStateAsOf(this.store, cycleId, asOf);
  }

  async export(cycleId: string, exportedBy: string) {
    await this.eventsOf(cycleId); // 404 before asking Temporal
    return exportCycleBundle({ db: this.db, client: this.temporal, cycleId, exportedBy });
  }

  async crossCheck(cycleId: string) {
    const bundle = await this.export(cycleId, 'cross-check');
    return { cycleId, manifest: checkManifest(bundle), ...crossCheck(bundle) };
  }

  /** Who used the audit endpoints on a day. */
  async accessLog(date: string) {
    const events = await this.store.readStream(auditAccessStream(new Date(`${date}T00:00:00.000Z`)));
    return events
      .filter((e) => e.type === AUDIT_ACCESS_EVENT)
      .map((e) => ({ at: e.occurredAt, who: e.metadata.actor ?? null, ...(e.data as Record<string, unknown>) }));
  }
}
