import { DomainError } from '../shared/errors';
import { defaultPolicy, defaultPolicyDocument, multiRoundExamplePolicy } from './defaults';
import { parsePolicy, policyHash } from './parse';

function issuesOf(doc: unknown): Array<{ field: string; reason: string }> {
  try {
    parsePolicy(doc);
  } catch (e) {
    expect(e).toBeInstanceOf(DomainError);
    expect((e as DomainError).code).toBe('validation_failed');
    return (e as DomainError).issues;
  }
  throw new Error('expected the policy to be refused');
}

describe('the policy document', () => {
  it('reads the default and the multi-round example', () => {
    expect(defaultPolicy.stages.map((s) => s.kind)).toEqual(['call', 'review', 'selection', 'grant', 'evaluation', 'extension', 'procurement']);
    expect(multiRoundExamplePolicy.stages.filter((s) => s.kind === 'evaluation').map((s) => (s.kind === 'evaluation' ? s.narrowing.keep : 0))).toEqual([4, 3, 2]);
    expect(parsePolicy(JSON.stringify(defaultPolicyDocument))).toEqual(defaultPolicy);
  });

  it('fills defaults, so the document as written and as parsed hash alike', () => {
    const { reminders: _r, ...withoutReminders } = defaultPolicyDocument;
    const parsed = parsePolicy({ ...withoutReminders });
    expect(parsed.reminders).toEqual({ before: [] });
    expect(policyHash(parsePolicy(defaultPolicyDocument))).toBe(policyHash(defaultPolicy));
    expect(policyHash(defaultPolicy)).toMatch(/^[0-9a-f]{64}$/);
    expect(policyHash(multiRoundExamplePolicy)).not.toBe(policyHash(defaultPolicy));
  });

  it('lists every bad field with its path and reason', () => {
    const issues = issuesOf({
      ...defaultPolicyDocument,
      reminders: { before: ['7 days'] },
      stages: defaultPolicyDocument.stages.map((s) => (s.kind === 'grant' ? { ...s, duration: 'six months', gpusPerAwardee: [{ type: 'H100', count: 0 }] } : s)),
      confidentiality: { publish: { topScore: 'yes' } },
      extra: 1,
    });
    const fields = issues.map((i) => i.field);
    expect(fields).toEqual(expect.arrayContaining(['reminders.before.0', 'stages.3.duration', 'stages.3.gpusPerAwardee.0.count', 'confidentiality.publish.topScore', '']));
  });

  it('checks rules across fields', () => {
    const stages = defaultPolicyDocument.stages;
    const issues = issuesOf({
      ...defaultPolicyDocument,
      stages: [
        stages[0],
        { kind: 'review', name: 'Written', duration: 'P14D', scoring: 'proposal', keep: 10 },
        { kind: 'review', name: 'Presentation', duration: 'P14D', scoring: 'nope', keep: 12 },
        { ...stages[2], minAwardees: 6, maxAwardees: 5 },
        stages[3],
        { ...stages[4], narrowing: { ...stages[4].narrowing, keep: 5 } },
        stages[5],
        stages[6],
      ],
      scoring: {
        ...defaultPolicyDocument.scoring,
        model: { ...defaultPolicyDocument.scoring.model, criteria: defaultPolicyDocument.scoring.model.criteria.map((c) => ({ ...c, weight: 30 })), tieBreak: [{ by: 'criterion', criterion: 'speed' }] },
      },
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        { field: 'scoring.model.criteria', reason: 'weights must sum to 100 (they sum to 90)' },
        { field: 'scoring.model.tieBreak.0.criterion', reason: 'no criterion "speed" in this scheme' },
        expect.objectContaining({ field: 'stages.2.scoring' }),
        expect.objectContaining({ field: 'stages.2.keep' }),
        expect.objectContaining({ field: 'stages.3.minAwardees', reason: 'must not exceed maxAwardees' }),
        expect.objectContaining({ field: 'stages.5.narrowing.keep' }),
      ]),
    );
  });

  it('refuses stages out of order and text that is not JSON', () => {
    const [call, review, selection, grant, evaluation, extension, procurement] = defaultPolicyDocument.stages;
    expect(issuesOf({ ...defaultPolicyDocument, stages: [call, selection, review, grant, evaluation, extension, procurement] })[0].field).toBe('stages');
    expect(issuesOf({ ...defaultPolicyDocument, stages: [call, review, selection, grant, extension, procurement] })[0].field).toBe('stages');
    expect(issuesOf('{ not json')[0].field).toBe('');
  });
});
