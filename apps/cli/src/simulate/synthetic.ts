/**
 * Synthetic applicants and scorers for `simulate`: everything drawn from one seeded PRNG, so the
 * same seed gives the same applicants, the same scores and therefore the same decisions.
 */
import { createUniform, type ProgramPolicy } from '@concentra/domain';

export interface SyntheticApplicant {
  applicationId: string;
  organisationId: string;
  name: string;
  /** How good the team is, 0..1: reviewers and evaluators see it through their own noise. */
  quality: number;
  /** How reliably the team delivers a model by each round's deadline, 0..1. */
  reliability: number;
}

export interface Population {
  seed: string;
  applicants: SyntheticApplicant[];
  /** Per scorer, per application (and round): one draw, taken in a fixed order. */
  score(scheme: ProgramPolicy['scoring'][string], applicationId: string, scorer: string, round: number): { scores: Record<string, number>; verdicts: Record<string, 'pass' | 'fail'> };
  /** Whether a team hands in its model for this round on time. */
  submits(applicationId: string, round: number): boolean;
}

const NAMES = ['Aster', 'Borealis', 'Cobalt', 'Delta', 'Ember', 'Fjord', 'Granite', 'Helix', 'Iris', 'Juniper', 'Kestrel', 'Lumen', 'Meridian', 'Nimbus', 'Orchid', 'Polaris'];

export function population(seed: string, count: number): Population {
  const draw = createUniform(`applicants:${seed}`);
  const applicants = Array.from({ length: count }, (_, i) => {
    const n = String(i + 1).padStart(3, '0');
    return {
      applicationId: `app-${n}`,
      organisationId: `org-${n}`,
      name: `${NAMES[i % NAMES.length]} AI ${n}`,
      quality: draw(),
      reliability: 0.85 + 0.15 * draw(),
    };
  });
  const byId = new Map(applicants.map((a) => [a.applicationId, a]));
  // Each score is drawn from its own stream (seed, scorer, application, round): the order in which
  // the simulation asks does not change the numbers.
  const stream = (...parts: Array<string | number>) => createUniform(`${seed}:${parts.join(':')}`);
  return {
    seed,
    applicants,
    score(scheme, applicationId, scorer, round) {
      const quality = byId.get(applicationId)?.quality ?? 0.5;
      const r = stream('score', scorer, applicationId, round);
      const scores: Record<string, number> = {};
      for (const c of scheme.criteria) {
        const noisy = Math.min(1, Math.max(0, quality + (r() - 0.5) * 0.3));
        scores[c.id] = Math.round(c.scale.min + noisy * (c.scale.max - c.scale.min));
      }
      const verdicts: Record<string, 'pass' | 'fail'> = {};
      for (const g of scheme.gates) verdicts[g.id] = r() < 0.03 ? 'fail' : 'pass';
      return { scores, verdicts };
    },
    submits(applicationId, round) {
      return stream('submits', applicationId, round)() < (byId.get(applicationId)?.reliability ?? 1);
    },
  };
}
