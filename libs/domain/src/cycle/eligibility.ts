/** Eligibility rules from the policy, checked when an application (or a membership change) comes in. */
import type { Eligibility } from '../policy/schema';
import { DomainError, fail } from '../shared/errors';
import type { Organisation } from './commands';

export function validateOrganisation(org: unknown, field: string): Organisation {
  const o = org as Partial<Organisation> | null;
  if (!o || typeof o !== 'object') fail('validation_failed', 'an organisation { organisationId, name, type } is required', field);
  for (const key of ['organisationId', 'name', 'type'] as const) {
    if (typeof o[key] !== 'string' || o[key]!.trim() === '') fail('validation_failed', 'must be a non-empty text', `${field}.${key}`);
  }
  return o as Organisation;
}

/** `lead` needs only its id and type (the cycle state keeps no more of it). */
export function checkEligibility(rules: Eligibility, lead: Pick<Organisation, 'organisationId' | 'type'>, members: Organisation[]): void {
  const all = [lead, ...members];
  if (new Set(all.map((o) => o.organisationId)).size !== all.length) {
    fail('validation_failed', 'an organisation appears more than once in the consortium', 'members');
  }
  if (rules.maxMembers !== undefined && members.length > rules.maxMembers) {
    throw new DomainError('not_eligible', `at most ${rules.maxMembers} members besides the lead`, 'members');
  }
  const allowed = rules.allowedOrganisationTypes;
  all.forEach((o, i) => {
    if (allowed.length > 0 && !allowed.includes(o.type)) {
      throw new DomainError('not_eligible', `organisation type "${o.type}" is not eligible (allowed: ${allowed.join(', ')})`, i === 0 ? 'lead.type' : `members.${i - 1}.type`);
    }
  });
  if (rules.allowedLeadTypes.length > 0 && !rules.allowedLeadTypes.includes(lead.type)) {
    throw new DomainError('not_eligible', `a "${lead.type}" may not lead an application (allowed: ${rules.allowedLeadTypes.join(', ')})`, 'lead.type');
  }
  for (const required of rules.requiredMemberTypes) {
    if (!all.some((o) => o.type === required)) throw new DomainError('not_eligible', `the consortium must include a "${required}"`, 'members');
  }
}
