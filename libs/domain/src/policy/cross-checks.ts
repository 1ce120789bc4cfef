/**
 * Rules that span fields: the schema checks each field alone, these check that the document
 * describes a program that can actually run (the stages in a possible order, counts that shrink).
 */
import type { DomainIssue } from '../shared/errors';
import type { GrantStage, ProgramPolicy, Stage, StageKind } from './schema';
import { fundingPoolIssues } from './funding-pools';
import { crossCheckGrantReports } from './grant-reports-schema';

const LETTER: Record<StageKind, string> = {
  call: 'C',
  review: 'R',
  selection: 'S',
  grant: 'G',
  evaluation: 'E',
  refill: 'F',
  extension: 'X',
  procurement: 'P',
};

/**
 * call, one or more review rounds, selection, grant, one or more evaluation rounds (a refill call
 * may follow the grant or any evaluation), an optional extension, procurement.
 */
const PIPELINE = /^CR+SGF?(EF?)+X?P$/;

export const PIPELINE_ORDER =
  'call, review (one or more), selection, grant, evaluation (one or more; a refill may follow the grant or any evaluation), extension (optional), procurement';

export function crossCheckPolicy(policy: ProgramPolicy): DomainIssue[] {
  const issues: DomainIssue[] = [];
  const add = (field: string, reason: string) => issues.push({ field, reason });

  const kinds = policy.stages.map((s) => LETTER[s.kind]).join('');
  if (!PIPELINE.test(kinds)) {
    add('stages', `stages must run in this order: ${PIPELINE_ORDER}; got ${policy.stages.map((s) => s.kind).join(', ')}`);
  }

  // Scoring schemes.
  for (const [name, scheme] of Object.entries(policy.scoring)) {
    const base = `scoring.${name}`;
    const total = scheme.criteria.reduce((sum, c) => sum + c.weight, 0);
    if (Math.abs(total - 100) > 1e-9) add(`${base}.criteria`, `weights must sum to 100 (they sum to ${total})`);
    duplicates(scheme.criteria.map((c) => c.id)).forEach((d) => add(`${base}.criteria`, `criterion "${d}" appears twice`));
    duplicates(scheme.gates.map((g) => g.id)).forEach((d) => add(`${base}.gates`, `gate "${d}" appears twice`));
    scheme.criteria.forEach((c, i) => {
      if (!(c.scale.min < c.scale.max)) add(`${base}.criteria.${i}.scale`, 'min must be below max');
    });
    scheme.tieBreak.forEach((t, i) => {
      if (t.by === 'criterion' && !scheme.criteria.some((c) => c.id === t.criterion)) {
        add(`${base}.tieBreak.${i}.criterion`, `no criterion "${t.criterion}" in this scheme`);
      }
    });
  }

  // Per stage, and counts that must shrink along the pipeline.
  let selectionMin = 0;
  let teamsAfterSelection: number | undefined;
  let lastReviewKeep: number | undefined;
  let lastNarrowingKeep: number | undefined;
  policy.stages.forEach((stage: Stage, i) => {
    const base = `stages.${i}`;
    if ('scoring' in stage && !(stage.scoring in policy.scoring)) {
      add(`${base}.scoring`, `no scoring scheme "${stage.scoring}" (known: ${Object.keys(policy.scoring).join(', ') || 'none'})`);
    }
    switch (stage.kind) {
      case 'call': {
        const c = stage.closing;
        if ((c.cutoffEvery === undefined) !== (c.minApplicationsAtCutoff === undefined)) {
          add(`${base}.closing`, 'cutoffEvery and minApplicationsAtCutoff go together');
        }
        break;
      }
      case 'review':
        if (stage.keep !== undefined && lastReviewKeep !== undefined && stage.keep >= lastReviewKeep) {
          add(`${base}.keep`, `must keep fewer than the previous review round (${lastReviewKeep})`);
        }
        if (stage.keep !== undefined) lastReviewKeep = stage.keep;
        if (stage.assignment && stage.assignment.reviewersPerApplication < (policy.scoring[stage.scoring]?.minimumScoresPerApplication ?? 0)) {
          add(`${base}.assignment.reviewersPerApplication`, `fewer than the ${policy.scoring[stage.scoring].minimumScoresPerApplication} scores the scheme needs per application`);
        }
        break;
      case 'selection':
        selectionMin = stage.minAwardees;
        teamsAfterSelection = stage.maxAwardees;
        if (stage.minAwardees > stage.maxAwardees) add(`${base}.minAwardees`, 'must not exceed maxAwardees');
        if (stage.fundingTiers && stage.fundingTiers.rejectBelow > stage.fundingTiers.fundAtOrAbove) add(`${base}.fundingTiers.rejectBelow`, 'must not be above fundAtOrAbove');
        if (stage.funding) issues.push(...fundingPoolIssues(stage.funding, `${base}.funding`, policy.stages.find((st): st is GrantStage => st.kind === 'grant')?.duration));
        if (lastReviewKeep !== undefined && lastReviewKeep < stage.minAwardees) {
          add(`${base}.minAwardees`, `the last review round keeps only ${lastReviewKeep}`);
        }
        break;
      case 'evaluation': {
        const previous = lastNarrowingKeep ?? teamsAfterSelection;
        if (previous !== undefined && stage.narrowing.keep >= previous) {
          add(`${base}.narrowing.keep`, `must keep fewer than before this round (${previous})`);
        }
        lastNarrowingKeep = stage.narrowing.keep;
        const scheme = policy.scoring[stage.scoring];
        if (stage.benchmark && scheme && !scheme.criteria.some((c) => c.id === stage.benchmark!.criterion)) {
          add(`${base}.benchmark.criterion`, `no criterion "${stage.benchmark.criterion}" in scheme "${stage.scoring}"`);
        }
        if (stage.benchmark?.provenanceGate && scheme && !scheme.gates.some((g) => g.id === 'originality')) {
          add(`${base}.benchmark.provenanceGate`, `scheme "${stage.scoring}" needs a gate "originality" for the provenance check to feed`);
        }
        break;
      }
      case 'refill': {
        const previous = lastNarrowingKeep ?? teamsAfterSelection;
        if (previous !== undefined && stage.fillUpTo > previous) {
          add(`${base}.fillUpTo`, `cannot fill beyond the ${previous} teams planned at this point`);
        }
        if (!stage.openTo.newcomers && !stage.openTo.eliminatedTeams) add(`${base}.openTo`, 'a refill call must be open to someone');
        break;
      }
      case 'grant':
      case 'extension':
      case 'procurement':
        break;
      default: {
        const never: never = stage;
        add(base, `unknown stage ${JSON.stringify(never)}`);
      }
    }
  });
  if (selectionMin === 0 && PIPELINE.test(kinds)) add('stages', 'a selection stage is required');

  duplicates(policy.reminders.before).forEach((d) => add('reminders.before', `offset ${d} appears twice`));
  // Any duration (issue 15): `window` or the older `windowDays`, exactly one.
  if ((policy.objections.window === undefined) === (policy.objections.windowDays === undefined)) {
    add('objections.window', 'give the objection window once: `window` (days or an ISO-8601 duration) or `windowDays`');
  }
  duplicates(policy.objections.appliesTo).forEach((d) => add('objections.appliesTo', `"${d}" appears twice`));
  if (policy.objections.notifiedWithin !== undefined && policy.objections.windowStartsAt !== 'notified') {
    add('objections.notifiedWithin', 'applies only when objections.windowStartsAt is "notified"');
  }
  issues.push(...crossCheckGrantReports(policy.grantReports));
  return issues;
}

function duplicates<T>(values: T[]): T[] {
  const seen = new Set<T>();
  const dup = new Set<T>();
  for (const v of values) (seen.has(v) ? dup : seen).add(v);
  return [...dup];
}
