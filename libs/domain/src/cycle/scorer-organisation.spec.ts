import { DomainError } from '../shared/errors';
import type { Actor } from './commands';
import { requireScorerOrganisation } from './scorer-organisation';

const reviewer = (organisationId?: string): Actor => ({ role: 'reviewer', subject: 'rev-1', ...(organisationId ? { organisationId } : {}) });
const refusal = (f: () => void) => {
  try {
    f();
  } catch (error) {
    return error instanceof DomainError ? { code: error.code, field: error.issues[0]?.field } : error;
  }
  return undefined;
};

describe('a scorer carries an organisation whenever conflicts of interest are checked', () => {
  const noPanel = { reviewers: [], evaluators: [] };

  it('refuses a scorer with no organisation anywhere (no claim, no panel)', () => {
    expect(refusal(() => requireScorerOrganisation(reviewer(), noPanel, ['reviewers']))).toEqual({ code: 'forbidden', field: 'actor.organisationId' });
    expect(refusal(() => requireScorerOrganisation(reviewer(), undefined, ['reviewers']))).toEqual({ code: 'forbidden', field: 'actor.organisationId' });
  });

  it("refuses a panel member whose record names no organisation, unless the token's claim does", () => {
    const panel = { reviewers: [{ subject: 'rev-1' }], evaluators: [] };
    expect(refusal(() => requireScorerOrganisation(reviewer(), panel, ['reviewers']))).toEqual({ code: 'forbidden', field: 'actor.organisationId' });
    expect(refusal(() => requireScorerOrganisation(reviewer('org-r'), panel, ['reviewers']))).toBeUndefined();
  });

  it('accepts the organisation from the token or from the panel record', () => {
    expect(refusal(() => requireScorerOrganisation(reviewer('org-r'), noPanel, ['reviewers']))).toBeUndefined();
    const panel = { reviewers: [{ subject: 'rev-1', organisationId: 'org-p' }], evaluators: [] };
    expect(refusal(() => requireScorerOrganisation(reviewer(), panel, ['reviewers']))).toBeUndefined();
  });

  it('leaves a scorer outside a named panel to the panel rule; a panel of the other group does not count', () => {
    expect(refusal(() => requireScorerOrganisation(reviewer(), { reviewers: [{ subject: 'someone-else', organisationId: 'o' }], evaluators: [] }, ['reviewers']))).toBeUndefined();
    const evaluatorsOnly = { reviewers: [], evaluators: [{ subject: 'eva', organisationId: 'o' }] };
    expect(refusal(() => requireScorerOrganisation(reviewer(), evaluatorsOnly, ['reviewers']))).toEqual({ code: 'forbidden', field: 'actor.organisationId' });
  });
});
