/**
 * Budgets and pools (issue 15) in tests: a policy with `selection.funding` on the default policy
 * (any lead type, several applications per organisation, requests capped at 800 GPUs), applications
 * with a lead type, region and request, and a cycle played to its selection proposal.
 */
import { defaultPolicyDocument } from '../policy/defaults';
import type { FundingPoolsPolicy } from '../policy/funding-pools';
import { parsePolicy } from '../policy/parse';
import { addDays } from '../shared/time';
import type { CycleCommand } from './commands';
import { Scenario, T0, applicantOf, openCallCommand, reviewAll } from './testing';

/** An applicant: its id (aK scores 10-K, a1 the strongest), lead type, region, GPUs asked for, lead organisation. */
export interface Applicant {
  id: string;
  type?: string;
  region?: string;
  gpus?: number;
  org?: string;
}

export const companies = { id: 'companies', budget: { gpus: 1200 }, leadTypes: ['company'], gpuType: 'H100' };

export function fundedPolicy(funding: FundingPoolsPolicy | Record<string, unknown>, selection: Record<string, unknown> = {}, grant: Record<string, unknown> = {}) {
  return parsePolicy({
    ...defaultPolicyDocument,
    stages: defaultPolicyDocument.stages.map((s) => {
      if (s.kind === 'call') return { ...s, eligibility: { ...s.eligibility, allowedLeadTypes: [], allowedOrganisationTypes: [], oneApplicationPerLeadOrganisation: false } };
      if (s.kind === 'selection') return { ...s, minAwardees: 1, maxAwardees: 8, funding, ...selection };
      if (s.kind === 'grant') return { ...s, applicantRequests: { cap: 800 }, ...grant };
      return s;
    }),
  });
}

export function poolApplication(a: Applicant): CycleCommand {
  const org = a.org ?? `org-${a.id}`;
  return {
    type: 'SubmitApplication',
    actor: applicantOf(org),
    data: {
      applicationId: a.id,
      title: `Proposal ${a.id}`,
      lead: { organisationId: org, name: `Org ${org}`, type: a.type ?? 'company' },
      members: [],
      ...(a.gpus !== undefined ? { gpusRequested: a.gpus } : {}),
      ...(a.region !== undefined ? { region: a.region } : {}),
    },
  };
}

export function toPooledSelection(policy: ReturnType<typeof fundedPolicy>, applicants: Applicant[]): Scenario {
  const sc = new Scenario();
  sc.run(openCallCommand(policy));
  applicants.forEach((a, i) => {
    sc.at(addDays(T0, 1 + i * 0.01));
    sc.run(poolApplication(a));
  });
  sc.fire('call_close');
  reviewAll(sc);
  sc.fire('review_due');
  return sc;
}

/** Applicants a1, a2, ... asking for these GPUs. */
export const asking = (...gpus: number[]): Applicant[] => gpus.map((g, i) => ({ id: `a${i + 1}`, gpus: g }));
