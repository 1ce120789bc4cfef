import { fail } from '../shared/errors';
import type { Actor, PanelMember } from './commands';

export type ScoringPanel = { reviewers: PanelMember[]; evaluators: PanelMember[] };

/**
 * Conflict-of-interest detection compares the scorer's organisation with the application's lead and
 * consortium: a scorer with none (no `org` claim in the token, no organisation in the panel's record
 * of them) would pass unchecked, so they may not score. A scorer who is not on a named panel of the
 * groups that score this is refused by the panel rule itself (`requirePanel`), with its own reason.
 */
export function requireScorerOrganisation(actor: Actor, panel: ScoringPanel | undefined, groups: Array<keyof ScoringPanel>): void {
  if (actor.organisationId) return;
  const members = groups.flatMap((g) => panel?.[g] ?? []);
  const record = members.find((m) => m.subject === actor.subject);
  if (record?.organisationId) return;
  if (!record && members.length > 0) return;
  fail(
    'forbidden',
    record
      ? "the panel's record of this scorer names no organisation, and the token carries none (org): conflicts of interest could not be detected"
      : 'a scorer must carry an organisation (the token\'s org claim, or the panel\'s record of them) so that conflicts of interest can be detected',
    'actor.organisationId',
  );
}
