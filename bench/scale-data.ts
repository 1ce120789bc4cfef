/**
 * The synthetic but realistic call of the scale benchmark: the policy a program manager would write
 * for a large call with short stages, organisations with LEI-style ids (ISO 17442: 20 characters,
 * ISO 7064 check digits), consortia of universities, institutes, companies and public bodies,
 * 10,000-character summaries in the mixed scripts and punctuation that word processors produce, a
 * review panel named at cycle start and a review plan with no conflicts. Deterministic from a seed.
 */
import { defaultPolicy, mulberry32 } from '@concentra/domain';

export interface ScaleShape {
  applications: number;
  /** Reviews per application, each by a distinct reviewer. */
  reviews: number;
  /** Awardees the policy selects (min = max). */
  selected: number;
  /** Consortium members besides the lead. */
  members: number;
  summaryChars: number;
  /** Reviewers on the panel. */
  reviewers: number;
  /** How long the review round stays open, in seconds. */
  reviewSeconds: number;
  /** GPUs per awardee in the grant stage (the pool gets exactly selected × this). */
  gpusPerAwardee: number;
}

export interface Organisation {
  organisationId: string;
  name: string;
  type: 'company' | 'university' | 'research_institute' | 'public_body';
}

export interface PlannedApplication {
  applicationId: string;
  title: string;
  summary: string;
  lead: Organisation;
  members: Organisation[];
}

export interface PanelMember {
  subject: string;
  organisationId: string;
}

export interface PlannedReview {
  reviewer: string;
  applicationId: string;
  scores: { technical: number; team: number; impact: number };
}

/** A policy document as a program manager writes it: the call closes once `applications` are in. */
export function scalePolicy(shape: ScaleShape): Record<string, unknown> {
  return {
    name: `Scale benchmark: ${shape.applications} applications, ${shape.selected} selected`,
    version: 'bench.1',
    stages: [
      {
        kind: 'call',
        name: 'Call for applications',
        // Open long enough for the whole call; it closes as soon as the last application is in.
        closing: { deadline: 'PT2H', afterApplications: shape.applications },
        eligibility: {
          allowedOrganisationTypes: ['company', 'university', 'research_institute', 'public_body'],
          allowedLeadTypes: ['company'],
          requiredMemberTypes: shape.members > 0 ? ['university'] : [],
          oneApplicationPerLeadOrganisation: true,
          maxMembers: Math.max(shape.members, 1),
        },
      },
      { kind: 'review', name: 'Expert review', duration: `PT${shape.reviewSeconds}S`, scoring: 'proposal' },
      // The program manager approves through the API; the long approval window never decides.
      { kind: 'selection', name: 'Selection', minAwardees: shape.selected, maxAwardees: shape.selected, approvalDue: 'PT2H', onApprovalTimeout: 'hold_and_escalate' },
      { kind: 'grant', name: 'Compute grant', duration: 'P6M', gpusPerAwardee: [{ type: 'H100', count: shape.gpusPerAwardee }] },
      {
        kind: 'evaluation',
        name: 'Model evaluation',
        submissionDue: 'P14D',
        scoringDue: 'P14D',
        scoring: 'model',
        narrowing: { keep: Math.max(1, Math.min(2, shape.selected - 1)), approvalDue: 'P7D', onApprovalTimeout: 'apply_ranking' },
      },
      { kind: 'extension', name: 'Finalist extension', duration: 'P6M' },
      { kind: 'procurement', name: 'Public-use procurement and open-source release', contractsDue: 'P60D', openSourceReleaseDue: 'P90D', allowedLicences: ['Apache-2.0', 'MIT'] },
    ],
    // The default policy's schemes; only the number of reviews per application is the run's.
    scoring: { ...defaultPolicy.scoring, proposal: { ...defaultPolicy.scoring.proposal, minimumScoresPerApplication: shape.reviews } },
    objections: { windowDays: 10, appliesTo: ['narrowing'] },
    reminders: { before: [] },
    missingInputs: {
      scores: { belowMinimumAtDeadline: 'proceed_with_present', extendBy: 'PT60S', stillMissingAfterExtension: 'proceed_with_present' },
      evaluationSubmission: 'score_zero',
      objectionDecisionDue: 'P14D',
    },
    confidentiality: { publish: { applicationCount: true, awardeeNames: true, topScore: true, meanScore: true, medianScore: false } },
  };
}

/** A small seeded generator (mulberry32): the same seed gives the same call. */
export function rng(seed: number): () => number {
  return mulberry32(seed);
}

const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOUS = ['5299', '3912', '2138', '9695', '8156', '7245', '9845', '8945'];

/** An LEI: a 4-character issuer prefix, "00", 12 characters, and two ISO 7064 MOD 97-10 check digits. */
export function lei(next: () => number): string {
  let body = LOUS[Math.floor(next() * LOUS.length)] + '00';
  for (let i = 0; i < 12; i++) body += ALNUM[Math.floor(next() * ALNUM.length)];
  const numeric = [...`${body}00`].map((c) => String(ALNUM.indexOf(c))).join('');
  const check = 98n - (BigInt(numeric) % 97n);
  return `${body}${check.toString().padStart(2, '0')}`;
}

const CITIES = ['Tübingen', 'Kraków', 'Linköping', 'Málaga', 'Zürich', 'Gödöllő', 'Besançon', 'Århus', 'Łódź', 'Coimbra', 'Tartu', 'Ghent', 'Brno', 'Cluj-Napoca', 'Espoo', 'Saarbrücken', 'Trondheim', 'Bologna', 'Grenoble', 'Delft'];
const COMPANY_WORDS = ['Neural', 'Lattice', 'Fjord', 'Meridian', 'Quanta', 'Polyglot', 'Helix', 'Aurora', 'Basalt', 'Cirrus', 'Vektor', 'Sapient'];
const COMPANY_FORMS = ['GmbH', 'S.A.', 'AB', 'B.V.', 'Sp. z o.o.', 'SAS', 'Oy', 'S.r.l.', 'a.s.', 'ApS'];
const INSTITUTE_TOPICS = ['Language Technology', 'Scientific Computing', 'Trustworthy AI', 'Computational Linguistics', 'Applied Mathematics', 'Data Science'];

function organisation(next: () => number, type: Organisation['type'], n: number): Organisation {
  const city = CITIES[Math.floor(next() * CITIES.length)];
  const name =
    type === 'university'
      ? `University of ${city} — Faculty ${n}`
      : type === 'research_institute'
        ? `${city} Institute for ${INSTITUTE_TOPICS[Math.floor(next() * INSTITUTE_TOPICS.length)]} (${n})`
        : type === 'public_body'
          ? `National Agency for Digital Affairs, ${city} office ${n}`
          : `${COMPANY_WORDS[Math.floor(next() * COMPANY_WORDS.length)]} ${COMPANY_WORDS[Math.floor(next() * COMPANY_WORDS.length)]} ${COMPANY_FORMS[Math.floor(next() * COMPANY_FORMS.length)]} ${n}`;
  return { organisationId: lei(next), name, type };
}

const PARAGRAPHS = [
  'We will pre-train a 70-billion-parameter decoder on 4.2 trillion tokens of curated European text — public-domain books, parliamentary records, licensed news and open scientific literature — with a tokenizer that treats Polish, Hungarian, Finnish and the Baltic languages as first-class citizens (“no language left behind” is a measurable goal, not a slogan).',
  'Our consortium brings twelve years of work on data governance: every source is logged with its licence, its opt-out status under Art. 4(3) of the DSM Directive, and a SHA-256 of the exact snapshot used; the manifest will be published with the model so that anyone can re-derive the corpus.',
  'The training plan uses 512 H100 GPUs for six months: 61 % of the budget for pre-training, 23 % for continued pre-training on long documents (up to 128k tokens), 11 % for instruction tuning and preference optimisation, and 5 % held back for evaluations and ablations — each milestone gated by the programme’s safety review.',
  'Évaluation: we will report results on the programme’s benchmark suite and on our own held-out sets in 24 official EU languages; scores are given with 95 % confidence intervals, and regressions of more than 2 points on any language block a release until they are understood.',
  'Public impact — the basic model will be released under Apache-2.0 with weights, training code, data manifest and evaluation harness; public administrations in Łódź, Gödöllő and Tartu have agreed to run user trials on citizen-facing services (forms, plain-language rewriting, accessibility).',
  'Risks and mitigations: hardware failures are absorbed by checkpointing every 30 minutes to two sites; data-quality risks by a 0.5 % human audit sample per source; the team’s key-person risk by pairing every work-package lead with a deputy from a different partner organisation.',
];

/** Exactly `chars` UTF-16 code units of proposal prose (no NUL, no lone surrogate), unique per application. */
export function summary(applicationId: string, chars: number, next: () => number): string {
  let text = `Summary of ${applicationId}. `;
  while (text.length < chars) text += PARAGRAPHS[Math.floor(next() * PARAGRAPHS.length)] + (next() < 0.3 ? '\n\n' : ' ');
  text = text.slice(0, chars);
  // The API trims: the text must end on a visible character to keep its full length.
  return text.slice(0, -1).replace(/\s$/, '.') + '.';
}

export interface ScaleCall {
  applications: PlannedApplication[];
  panel: PanelMember[];
  reviews: PlannedReview[];
}

/** The whole call: applications with distinct company leads, members from a shared pool, the panel and its plan. */
export function planCall(shape: ScaleShape, seed = 2027): ScaleCall {
  const next = rng(seed);
  const types: Organisation['type'][] = ['university', 'research_institute', 'company', 'public_body'];
  const poolSize = Math.max(shape.members * 4, 400);
  const pool = Array.from({ length: poolSize }, (_, i) => organisation(next, types[i % types.length], i + 1));
  const universities = pool.filter((o) => o.type === 'university');
  const applications: PlannedApplication[] = [];
  for (let i = 0; i < shape.applications; i++) {
    const applicationId = `team-${String(i + 1).padStart(4, '0')}`;
    const lead = organisation(next, 'company', 10_000 + i);
    const members = new Map<string, Organisation>();
    if (shape.members > 0) {
      const uni = universities[Math.floor(next() * universities.length)];
      members.set(uni.organisationId, uni);
    }
    while (members.size < shape.members) {
      const o = pool[Math.floor(next() * pool.length)];
      members.set(o.organisationId, o);
    }
    applications.push({
      applicationId,
      title: `${lead.name.split(' ').slice(0, 2).join(' ')}: an open multilingual foundation model for public services (${applicationId})`,
      summary: summary(applicationId, shape.summaryChars, next),
      lead,
      members: [...members.values()],
    });
  }
  // Reviewers sit for organisations outside every consortium: no conflict of interest arises.
  const panel = Array.from({ length: shape.reviewers }, (_, i) => ({
    subject: `reviewer-${String(i + 1).padStart(3, '0')}@panel.example.eu`,
    organisationId: lei(next),
  }));
  const reviews: PlannedReview[] = [];
  for (const [i, app] of applications.entries()) {
    const quality = next();
    for (let k = 0; k < shape.reviews; k++) {
      const score = () => Math.round(Math.min(10, Math.max(0, quality * 10 + (next() - 0.5) * 3)) * 10) / 10;
      reviews.push({ reviewer: panel[(i * shape.reviews + k) % panel.length].subject, applicationId: app.applicationId, scores: { technical: score(), team: score(), impact: score() } });
    }
  }
  // Reviews arrive interleaved across applications, as a panel works.
  for (let i = reviews.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [reviews[i], reviews[j]] = [reviews[j], reviews[i]];
  }
  return { applications, panel, reviews };
}
