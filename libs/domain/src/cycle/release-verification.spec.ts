import { defaultPolicyDocument } from '../policy/defaults';
import { parsePolicy } from '../policy/parse';
import { owed } from './obligations';
import { applicantOf, contractCommand, pm, playToNarrowing, types, type Scenario } from './testing';

/** The default year with releases verified against the evaluated model (every model submitted in the scenario is sha256 "aaa…"). */
function toProcurement(onMismatch: 'escalate' | 'block_procurement'): Scenario {
  const policy = parsePolicy({ ...defaultPolicyDocument, stages: defaultPolicyDocument.stages.map((s) => (s.kind === 'procurement' ? { ...s, releaseVerification: { onMismatch } } : s)) });
  const sc = playToNarrowing({ policy });
  sc.run({ type: 'ApproveNarrowing', actor: pm, data: { round: 1 } });
  sc.fire('objection_window_end');
  sc.fire('extension_end');
  return sc;
}

const EVALUATED = 'a'.repeat(64);
const release = (id: string, sha256: string, licence = 'Apache-2.0') => ({
  type: 'RecordReleaseDeclaration' as const,
  actor: applicantOf(`org-${id}`),
  data: { applicationId: id, repository: `https://git.example/${id}`, licence, artifacts: [{ name: 'weights.safetensors', sha256 }, { name: 'tokenizer.json', sha256: 'c'.repeat(64) }] },
});

describe('verified open-source release', () => {
  it('given a release whose artifacts include the evaluated model, then it is verified and counts as released', () => {
    const sc = toProcurement('block_procurement');
    expect(sc.running.applications.a1.evaluatedModel).toBe(EVALUATED);
    expect(types(sc.run(release('a1', EVALUATED)))).toEqual(['ModelReleased']);
    expect(sc.last('ModelReleased').data.verification).toEqual({ evaluatedSha256: EVALUATED, matched: true });
    expect(sc.running.procurement!.released).toEqual(['a1']);
    expect(types(sc.run(contractCommand('a1')))).toEqual(['ProcurementAwarded']);
  });

  it('given a release that does not include the evaluated model, then it is escalated, stays owed, and (block_procurement) the contract waits for a matching one', () => {
    const sc = toProcurement('block_procurement');
    expect(types(sc.run(release('a2', 'd'.repeat(64))))).toEqual(['ModelReleased', 'EscalationRaised']);
    expect(sc.last('ModelReleased').data.verification).toEqual({ evaluatedSha256: EVALUATED, matched: false });
    expect(sc.last('EscalationRaised').data).toMatchObject({ reason: 'release_mismatch', subject: 'a2', details: expect.stringContaining(EVALUATED) });
    expect(sc.running.procurement!).toMatchObject({ released: [], mismatched: ['a2'] });
    expect(owed(sc.state).filter((o) => o.applicationId === 'a2').map((o) => o.what)).toEqual(['procurement_contract', 'release_declaration']);
    expect(sc.refuse(contractCommand('a2'), 'invalid_state').message).toMatch(/does not match the evaluated model/);
    // A corrected declaration verifies, clears the block, and the contract goes through.
    expect(types(sc.run(release('a2', EVALUATED)))).toEqual(['ModelReleased']);
    expect(sc.running.procurement!.mismatched).toBeUndefined();
    expect(types(sc.run(contractCommand('a2')))).toEqual(['ProcurementAwarded']);
  });

  it('with onMismatch escalate, a mismatch is escalated but does not hold the contract', () => {
    const sc = toProcurement('escalate');
    sc.run(release('a1', 'd'.repeat(64)));
    expect(sc.last('EscalationRaised').data.reason).toBe('release_mismatch');
    expect(types(sc.run(contractCommand('a1')))).toEqual(['ProcurementAwarded']);
  });

  it('a licence the policy does not allow is refused, whatever the checksums', () => {
    toProcurement('block_procurement').refuse(release('a1', EVALUATED, 'Proprietary-1.0'), 'validation_failed');
  });
});
