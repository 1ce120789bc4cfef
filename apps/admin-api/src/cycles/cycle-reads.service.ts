import { Inject, Injectable } from '@nestjs/common';
import { DomainError, canSeeAwardeeNames, canSeeTeamScores, namedRanking, publishedAggregates, publishesRanking, type CycleState, type PublishedAggregates, type RankingRecord } from '@concentra/domain';
import {
  CycleDetailsReads,
  EventStore,
  foldCycle,
  type ApplicationView,
  type CycleSummaryView,
  type DecisionView,
  type GrantView,
  type OwedView,
  type RankingView,
} from '@concentra/persistence';
import { cycleTimelineEntries, type CycleTimelineEntry } from '@concentra/audit';
import type { Principal } from '@concentra/auth';

/** A ranking as someone who may not see per-team scores sees it: the aggregates the policy publishes. */
export interface PublishedRanking {
  kind: RankingView['kind'];
  key: string;
  round: number | null;
  at: string;
  aggregates: PublishedAggregates;
}

export interface AwardeesView {
  cycleId: string;
  /** Selections, narrowings and refill choices, in the order they were taken. */
  decisions: DecisionView[];
  /** Teams in the program now (selected, neither withdrawn nor eliminated). */
  active: Array<Pick<ApplicationView, 'applicationId' | 'title' | 'lead'>>;
}

/** Who sees per-team scores is the domain's rule. */
const privileged = (p: Principal) => canSeeTeamScores(p.role);

/** A recorded ranking with each team's per-criterion means named (the events keep them in criterion order). */
export type RankingDetailView = Omit<RankingView, 'result'> & { result: Omit<RankingRecord, 'ranking'> & { ranking: ReturnType<typeof namedRanking> } };

/** The reads of a cycle: projections kept from its events, and the events themselves folded with the domain's `evolve`. */
@Injectable()
export class CycleReadsService {
  constructor(
    @Inject(EventStore) private readonly events: EventStore,
    @Inject(CycleDetailsReads) private readonly reads: CycleDetailsReads,
  ) {}

  /** Every event of the cycle in order, each with a readable sentence. */
  async timeline(cycleId: string): Promise<{ cycleId: string; events: CycleTimelineEntry[] }> {
    const events = await this.events.readStream(cycleId);
    if (events.length === 0) throw notFound(cycleId);
    return { cycleId, events: cycleTimelineEntries(events) };
  }

  /** Applicants see their own organisation's applications (as lead or member); the panel and managers see all. */
  async applications(cycleId: string, p: Principal): Promise<{ cycleId: string; applications: ApplicationView[] }> {
    await this.summary(cycleId);
    if (p.role === 'applicant' && !p.org) return { cycleId, applications: [] };
    return { cycleId, applications: await this.reads.applications(cycleId, p.role === 'applicant' ? p.org : undefined) };
  }

  /** Per-team scores for program managers and auditors; everyone else gets the aggregates the policy publishes. */
  async rankings(cycleId: string, p: Principal): Promise<{ cycleId: string; rankings: RankingDetailView[] | PublishedRanking[] }> {
    const cycle = await this.summary(cycleId);
    const rankings = (await this.reads.rankings(cycleId)).filter((r) => !!r.result);
    if (privileged(p)) return { cycleId, rankings: rankings.map((r) => ({ ...r, result: { ...r.result, ranking: namedRanking(r.result) } })) };
    return {
      cycleId,
      rankings: rankings
        .filter((r) => publishesRanking(cycle.policy.confidentiality, r.kind)) // policy `confidentiality.publish.rounds`
        .map((r) => ({ kind: r.kind, key: r.key, round: r.round, at: r.at, aggregates: publishedAggregates(r.result, cycle.policy.confidentiality) })),
    };
  }

  async awardees(cycleId: string, p: Principal): Promise<AwardeesView> {
    const cycle = await this.summary(cycleId);
    if (!canSeeAwardeeNames(p.role, cycle.policy.confidentiality)) {
      throw new DomainError('forbidden', "this program's policy does not publish awardee names", 'confidentiality.publish.awardeeNames');
    }
    const [decisions, applications] = await Promise.all([this.reads.decisions(cycleId), this.reads.applications(cycleId)]);
    const active = applications.filter((a) => a.status === 'active').map(({ applicationId, title, lead }) => ({ applicationId, title, lead }));
    return { cycleId, decisions, active };
  }

  /** Grants: applicants see their own organisation's. */
  async grants(cycleId: string, p: Principal): Promise<{ cycleId: string; grants: GrantView[] }> {
    await this.summary(cycleId);
    if (p.role === 'applicant' && !p.org) return { cycleId, grants: [] };
    return { cycleId, grants: await this.reads.grants(cycleId, p.role === 'applicant' ? p.org : undefined) };
  }

  /** Who owes what by when. Managers and auditors see everything; others see what they owe themselves. */
  async owed(cycleId: string, p: Principal): Promise<{ cycleId: string; stage: string; owed: OwedView[] }> {
    const cycle = await this.summary(cycleId);
    const all = await this.reads.owed(cycleId);
    const mine = (o: OwedView) =>
      p.role === 'applicant'
        ? o.who.role === 'applicant' && !!p.org && o.who.organisationId === p.org
        : o.who.role === p.role && (!o.who.subject || o.who.subject === p.sub);
    return { cycleId, stage: cycle.stage, owed: privileged(p) ? all : all.filter(mine) };
  }

  /**
   * The whole domain state, folded from the cycle's events with the domain's `evolve` (the path the
   * as-of read takes); the workflow is not asked. The events are appended in the same transaction
   * as the projections, so this is never behind what the workflow has recorded.
   */
  async state(cycleId: string): Promise<{ cycleId: string; source: 'events'; state: CycleState }> {
    const events = await this.events.readStream(cycleId);
    if (events.length === 0) throw notFound(cycleId);
    const latest = events.reduce((max, e) => (Date.parse(e.occurredAt) > Date.parse(max) ? e.occurredAt : max), events[0].occurredAt);
    const { state } = foldCycle(cycleId, events, latest);
    if (!state) throw notFound(cycleId);
    return { cycleId, source: 'events', state };
  }

  private async summary(cycleId: string): Promise<CycleSummaryView> {
    const cycle = await this.reads.summary(cycleId);
    if (!cycle) throw notFound(cycleId);
    return cycle;
  }
}

function notFound(cycleId: string): DomainError {
  return new DomainError('not_found', `no cycle '${cycleId}'`, 'id');
}
