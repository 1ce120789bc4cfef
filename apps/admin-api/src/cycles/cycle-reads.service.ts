import { Inject, Injectable } from '@nestjs/common';
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import { DomainError, canSeeTeamScores, publishedAggregates, type CycleState, type PublishedAggregates, type Viewer } from '@concentra/domain';
import {
  CycleDetailsReads,
  EventStore,
  type ApplicationView,
  type CycleSummaryView,
  type DecisionView,
  type GrantView,
  type OwedView,
  type RankingView,
} from '@concentra/persistence';
import { cycleStateQuery } from '@concentra/workflows/contracts';
import type { Principal } from '../auth/tokens';
import { timelineEntry, type TimelineEntry } from './timeline';

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

const privileged = (p: Principal) => p.role === 'admin' || canSeeTeamScores(p.role as Viewer);

/** The reads of a cycle: projections kept from its events, and the workflow's Query where live state is needed. */
@Injectable()
export class CycleReadsService {
  constructor(
    @Inject(Client) private readonly temporal: Client,
    @Inject(EventStore) private readonly events: EventStore,
    @Inject(CycleDetailsReads) private readonly reads: CycleDetailsReads,
  ) {}

  /** Every event of the cycle in order, each with a readable sentence. */
  async timeline(cycleId: string): Promise<{ cycleId: string; events: TimelineEntry[] }> {
    const events = await this.events.readStream(cycleId);
    if (events.length === 0) throw notFound(cycleId);
    return { cycleId, events: events.map(timelineEntry) };
  }

  /** Applicants see their own organisation's applications (as lead or member); the panel and managers see all. */
  async applications(cycleId: string, p: Principal): Promise<{ cycleId: string; applications: ApplicationView[] }> {
    await this.summary(cycleId);
    if (p.role === 'applicant' && !p.org) return { cycleId, applications: [] };
    return { cycleId, applications: await this.reads.applications(cycleId, p.role === 'applicant' ? p.org : undefined) };
  }

  /** Per-team scores for program managers and auditors; everyone else gets the aggregates the policy publishes. */
  async rankings(cycleId: string, p: Principal): Promise<{ cycleId: string; rankings: RankingView[] | PublishedRanking[] }> {
    const cycle = await this.summary(cycleId);
    const rankings = await this.reads.rankings(cycleId);
    if (privileged(p)) return { cycleId, rankings };
    return {
      cycleId,
      rankings: rankings.map((r) => ({ kind: r.kind, key: r.key, round: r.round, at: r.at, aggregates: publishedAggregates(r.result, cycle.policy.confidentiality) })),
    };
  }

  async awardees(cycleId: string, p: Principal): Promise<AwardeesView> {
    const cycle = await this.summary(cycleId);
    if (!privileged(p) && !cycle.policy.confidentiality.publish.awardeeNames) {
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

  /** The whole domain state: live from the workflow, or folded from the events once it is gone. */
  async state(cycleId: string): Promise<{ cycleId: string; source: 'workflow' | 'events'; state: CycleState }> {
    const recorded = await this.reads.summary(cycleId);
    // A finished cycle's state no longer changes: the events say it without asking a worker.
    if (recorded?.stage !== 'closed' && recorded?.stage !== 'cancelled') {
      try {
        return { cycleId, source: 'workflow', state: (await this.temporal.workflow.getHandle(cycleId).query(cycleStateQuery)) as CycleState };
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      }
    }
    const state = await this.reads.state(cycleId);
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
