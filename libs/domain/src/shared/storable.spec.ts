import { DomainError } from './errors';
import { assertStorableCommand, findUnstorable, firstUnstorable, mendUnstorable, unstorableReason } from './storable';

describe('strings PostgreSQL cannot store', () => {
  it('names a NUL and every kind of unpaired surrogate, and lets well-formed text through', () => {
    expect(unstorableReason('a\u0000b')).toBe('contains a NUL character (U+0000)');
    expect(unstorableReason('\ud800')).toBe('contains an unpaired surrogate (U+D800)');
    expect(unstorableReason('x\udbffy')).toBe('contains an unpaired surrogate (U+DBFF)');
    expect(unstorableReason('\udc00x')).toBe('contains an unpaired surrogate (U+DC00)');
    expect(unstorableReason('\ud83d\ude00\ud83d')).toBe('contains an unpaired surrogate (U+D83D)');
    for (const fine of ['', 'plain', 'Ünïcödé ✓', '😀 emoji pairs \ud83d\ude00', '\u0001\u001f control but storable', '\ufffd']) {
      expect(unstorableReason(fine)).toBeUndefined();
    }
  });

  it('walks arrays, objects and keys with dotted paths, in document order', () => {
    const value = {
      title: 'ok',
      lead: { organisationId: 'org\u0000a', name: 'fine' },
      members: [{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd\ud800' }],
      scores: { 'tech\u0000nical': 7 },
      nested: [['\udfff']],
      n: 1,
      nothing: null,
    };
    expect(findUnstorable(value)).toEqual([
      { field: 'lead.organisationId', reason: 'contains a NUL character (U+0000)' },
      { field: 'members.3.name', reason: 'contains an unpaired surrogate (U+D800)' },
      { field: 'scores.tech\\u0000nical', reason: 'its key contains a NUL character (U+0000)' },
      { field: 'nested.0.0', reason: 'contains an unpaired surrogate (U+DFFF)' },
    ]);
    expect(firstUnstorable(value)).toEqual({ field: 'lead.organisationId', reason: 'contains a NUL character (U+0000)' });
    expect(findUnstorable(value, { root: 'body', first: true })).toEqual([{ field: 'body.lead.organisationId', reason: 'contains a NUL character (U+0000)' }]);
    expect(findUnstorable('\u0000')).toEqual([{ field: '', reason: 'contains a NUL character (U+0000)' }]);
    expect(findUnstorable({ a: 'fine', b: [1, true, { c: 'x' }] })).toEqual([]);
  });

  it('survives cycles in the value', () => {
    const loop: Record<string, unknown> = { name: 'x\u0000' };
    loop.self = loop;
    expect(findUnstorable(loop)).toEqual([{ field: 'name', reason: 'contains a NUL character (U+0000)' }]);
  });

  it('refuses a command with the first field as the DomainError field, every one in issues, the actor included', () => {
    const command = { actor: { role: 'applicant', subject: 'user\u0000' }, data: { title: 'T\ud800', members: [{ name: '\u0000' }] } };
    let error: unknown;
    try {
      assertStorableCommand(command);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DomainError);
    const domain = error as DomainError;
    expect(domain.code).toBe('validation_failed');
    expect(domain.field).toBe('actor.subject');
    expect(domain.reason).toBe('contains a NUL character (U+0000)');
    expect(domain.issues.map((i) => i.field)).toEqual(['actor.subject', 'title', 'members.0.name']);
    expect(() => assertStorableCommand({ actor: { role: 'applicant', subject: 'u' }, data: { title: 'fine' } })).not.toThrow();
  });

  it('mends our own text (an error message) into storable text, keeping well-formed pairs', () => {
    expect(mendUnstorable('failed: a\u0000b \ud800 \udc00 😀')).toBe('failed: a\ufffdb \ufffd \ufffd 😀');
    expect(unstorableReason(mendUnstorable('x\ud83d'))).toBeUndefined();
    expect(mendUnstorable('plain')).toBe('plain');
  });
});
