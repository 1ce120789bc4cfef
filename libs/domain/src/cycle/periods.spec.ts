import { defaultPolicyDocument } from '../policy/defaults';
import { parsePolicy } from '../policy/parse';
import { DomainError } from '../shared/errors';
import { addDuration } from '../shared/time';
import { openWithApplicants, pm, reviewAll, types } from './testing';

/** Objections to the selection, with the window written as the test says. */
const withWindow = (objections: Record<string, unknown>) => parsePolicy({ ...defaultPolicyDocument, objections: { appliesTo: ['selection', 'narrowing'], ...objections } });

function selectionApproved(objections: Record<string, unknown>) {
  const sc = openWithApplicants(withWindow(objections), 7);
  sc.fire('call_close');
  reviewAll(sc);
  sc.fire('review_due');
  sc.run({ type: 'ApproveSelection', actor: pm, data: {} });
  return sc;
}

describe('any duration: the objection window', () => {
  it('given a window of PT30S, when the selection is approved, then the window ends 30 seconds later and its timer closes it', () => {
    const sc = selectionApproved({ window: 'PT30S' });
    const selected = sc.last('AwardeesSelected').data;
    expect(selected.objectionWindowEndsAt).toBe(addDuration(selected.decidedAt, 'PT30S'));
    expect(Date.parse(selected.objectionWindowEndsAt!) - Date.parse(selected.decidedAt)).toBe(30_000);
    expect(types(sc.fire('objection_window_end'))).toEqual(['ObjectionWindowClosed', 'GrantPeriodStarted']);
    expect(sc.last('ObjectionWindowClosed').data.closedAt).toBe(selected.objectionWindowEndsAt);
  });

  it('given the window in whole days, written three ways, then it ends at the same instant', () => {
    const ends = [{ windowDays: 10 }, { window: 10 }, { window: 'P10D' }].map((o) => selectionApproved(o).last('AwardeesSelected').data.objectionWindowEndsAt);
    expect(new Set(ends).size).toBe(1);
    expect(ends[0]).toBe(addDuration(selectionApproved({ windowDays: 10 }).last('AwardeesSelected').data.decidedAt, 'P10D'));
  });

  it('a policy written in days parses as before: nothing is filled in for the new field (its hash, recorded in histories, stands)', () => {
    expect(parsePolicy(defaultPolicyDocument).objections).toEqual({ windowDays: 10, appliesTo: ['narrowing'] });
  });

  it.each([
    [{ windowDays: 10, window: 'P10D' }, 'objections.window'],
    [{}, 'objections.window'],
    [{ window: 'ten days' }, 'objections.window'],
    [{ window: '2027-03-01T00:00:00Z' }, 'objections.window'],
    [{ window: 0 }, 'objections.window'],
  ])('refuses the window %j, naming %s', (objections, field) => {
    let error: unknown;
    try {
      withWindow(objections);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).issues?.map((i) => i.field)).toContain(field);
  });
});
