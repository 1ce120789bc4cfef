import type { DataSource } from 'typeorm';
import type { Approval, ApplicationStatus, CycleState, Organisation, OwedWhat, ProgramPolicy, RankingRecord, Recipient } from '@concentra/domain';

export interface CycleSummaryView {
  cycleId: string;
  stage: string;
  position: number;
  policy: ProgramPolicy;
}

export interface ApplicationView {
  applicationId: string;
  title: string;
  summary: string | null;
  lead: Organisation;
  members: Organisation[];
  status: ApplicationStatus;
  submittedAt: string;
  submittedBy: string;
  refillKey: string | null;
}

export interface RankingView {
  position: number;
  kind: 'review' | 'selection_proposal' | 'narrowing_proposal' | 'refill_proposal';
  key: string;
  round: number | null;
  /** As the ranking event recorded it (a selection proposal: its review round's ranking). */
  result: RankingRecord;
  kept: string[];
  dropped: string[];
  at: string;
}

export interface DecisionView {
  position: number;
  kind: 'selection' | 'narrowing' | 'refill';
  decisionKey: string;
  round: number | null;
  kept: string[];
  dropped: string[];
  approval: Approval;
  overridden: boolean;
  rationale: string | null;
  decidedAt: string;
  objectionWindowEndsAt: string | null;
}

export interface GrantView {
  applicationId: string;
  grantId: string;
  status: 'pending' | 'active' | 'ended';
  gpus: { type: string; count: number }[];
  allocationId: string | null;
  startedAt: string | null;
  endsAt: string | null;
  endedAt: string | null;
  endReason: string | null;
  gpuHoursUsed: number | null;
}

export interface OwedView {
  who: Recipient;
  what: OwedWhat;
  applicationId: string | null;
  dueAt: string | null;
  deadline: string | null;
  /** Which grant report (issue 15), for `grant_report` and `grant_report_review`; absent otherwise. */
  reportId?: string;
}

type Row = Record<string, unknown>;
const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : (v as string | null));

/** Reads of the cycle-details projection. Writes happen only through the event store. */
/** A scorer as the panel records them. */
export interface PanelRecord {
  subject: string;
  organisationId?: string;
}

export class CycleDetailsReads {
  constructor(private readonly db: DataSource) {}

  async summary(cycleId: string): Promise<CycleSummaryView | undefined> {
    const [row] = (await this.db.query(`SELECT cycle_id, stage, position, state->'policy' AS policy FROM cycle_states WHERE cycle_id = $1`, [cycleId])) as Row[];
    return row ? { cycleId: row.cycle_id as string, stage: row.stage as string, position: row.position as number, policy: row.policy as ProgramPolicy } : undefined;
  }

  /** The domain state as folded from the events (program managers and auditors only: it holds every score). */
  async state(cycleId: string): Promise<CycleState | undefined> {
    const [row] = (await this.db.query('SELECT state FROM cycle_states WHERE cycle_id = $1', [cycleId])) as Row[];
    return row ? (row.state as CycleState) : undefined;
  }

  /**
   * Organisation ids of an application's lead and consortium members (lead first), as its events
   * say; undefined when the projection has no such application. The API puts them into scoring
   * commands for the domain's conflict-of-interest rule.
   */
  async consortium(cycleId: string, applicationId: string): Promise<string[] | undefined> {
    const [row] = (await this.db.query('SELECT organisation_ids FROM cycle_applications WHERE cycle_id = $1 AND application_id = $2', [cycleId, applicationId])) as Row[];
    return row ? (row.organisation_ids as string[]) : undefined;
  }

  /**
   * The cycle's applications (other than `except`) whose lead or consortium holds one of these
   * organisations, in the order they came. The API puts them into SubmitApplication and
   * ApproveMembershipChange for peer review's conflicts (issue 15); the cycle state keeps no member lists.
   */
  async sharingOrganisation(cycleId: string, organisationIds: readonly string[], except: string): Promise<string[]> {
    const rows = (await this.db.query(
      'SELECT application_id FROM cycle_applications WHERE cycle_id = $1 AND organisation_ids && $2::text[] AND application_id <> $3 ORDER BY submitted_at, application_id',
      [cycleId, [...organisationIds], except],
    )) as Row[];
    return rows.map((r) => r.application_id as string);
  }

  /** The panel the cycle was opened with (its CallOpened event), or undefined before the call opened. */
  async panel(cycleId: string): Promise<{ reviewers: PanelRecord[]; evaluators: PanelRecord[] } | undefined> {
    const [row] = (await this.db.query(
      `SELECT data->'panel' AS panel FROM events WHERE stream_id = $1 AND type = 'CallOpened' ORDER BY stream_position LIMIT 1`,
      [cycleId],
    )) as Row[];
    const panel = row?.panel as { reviewers?: PanelRecord[]; evaluators?: PanelRecord[] } | null | undefined;
    return panel ? { reviewers: panel.reviewers ?? [], evaluators: panel.evaluators ?? [] } : undefined;
  }

  /** Applications in submission order; with an organisation, only those it leads or is a member of. */
  async applications(cycleId: string, organisationId?: string): Promise<ApplicationView[]> {
    const rows = (await this.db.query(
      `SELECT * FROM cycle_applications WHERE cycle_id = $1 AND ($2::text IS NULL OR $2 = ANY (organisation_ids))
       ORDER BY submitted_at, application_id`,
      [cycleId, organisationId ?? null],
    )) as Row[];
    return rows.map((r) => ({
      applicationId: r.application_id as string,
      title: r.title as string,
      summary: r.summary as string | null,
      lead: r.lead as Organisation,
      members: r.members as Organisation[],
      status: r.status as ApplicationStatus,
      submittedAt: iso(r.submitted_at) as string,
      submittedBy: r.submitted_by as string,
      refillKey: r.refill_key as string | null,
    }));
  }

  async rankings(cycleId: string): Promise<RankingView[]> {
    const rows = (await this.db.query('SELECT * FROM cycle_rankings WHERE cycle_id = $1 ORDER BY position', [cycleId])) as Row[];
    return rows.map((r) => ({
      position: r.position as number,
      kind: r.kind as RankingView['kind'],
      key: r.key as string,
      round: r.round as number | null,
      result: r.result as RankingRecord,
      kept: r.kept as string[],
      dropped: r.dropped as string[],
      at: iso(r.at) as string,
    }));
  }

  async decisions(cycleId: string): Promise<DecisionView[]> {
    const rows = (await this.db.query('SELECT * FROM cycle_decisions WHERE cycle_id = $1 ORDER BY position', [cycleId])) as Row[];
    return rows.map((r) => ({
      position: r.position as number,
      kind: r.kind as DecisionView['kind'],
      decisionKey: r.decision_key as string,
      round: r.round as number | null,
      kept: r.kept as string[],
      dropped: r.dropped as string[],
      approval: r.approval as Approval,
      overridden: r.overridden as boolean,
      rationale: r.rationale as string | null,
      decidedAt: iso(r.decided_at) as string,
      objectionWindowEndsAt: iso(r.objection_window_ends_at),
    }));
  }

  /** Grants; with an organisation, only those of applications it leads. */
  async grants(cycleId: string, organisationId?: string): Promise<GrantView[]> {
    const rows = (await this.db.query(
      `SELECT g.* FROM cycle_grants g JOIN cycle_applications a ON a.cycle_id = g.cycle_id AND a.application_id = g.application_id
       WHERE g.cycle_id = $1 AND ($2::text IS NULL OR a.lead_organisation_id = $2) ORDER BY g.application_id`,
      [cycleId, organisationId ?? null],
    )) as Row[];
    return rows.map((r) => ({
      applicationId: r.application_id as string,
      grantId: r.grant_id as string,
      status: r.status as GrantView['status'],
      gpus: r.gpus as GrantView['gpus'],
      allocationId: r.allocation_id as string | null,
      startedAt: iso(r.started_at),
      endsAt: iso(r.ends_at),
      endedAt: iso(r.ended_at),
      endReason: r.end_reason as string | null,
      gpuHoursUsed: r.gpu_hours_used as number | null,
    }));
  }

  /** What is owed, earliest due first (undated, held items last). */
  async owed(cycleId: string): Promise<OwedView[]> {
    const rows = (await this.db.query(
      `SELECT * FROM cycle_owed WHERE cycle_id = $1 ORDER BY due_at NULLS LAST, what, application_id, role, subject, organisation_id, item`,
      [cycleId],
    )) as Row[];
    return rows.map((r) => ({
      who: {
        role: r.role as Recipient['role'],
        ...(r.subject ? { subject: r.subject as string } : {}),
        ...(r.organisation_id ? { organisationId: r.organisation_id as string } : {}),
      },
      what: r.what as OwedWhat,
      applicationId: (r.application_id as string) || null,
      dueAt: iso(r.due_at),
      deadline: r.deadline as string | null,
      ...(r.item ? { reportId: r.item as string } : {}),
    }));
  }
}
