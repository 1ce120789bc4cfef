import { useState } from 'react';
import { call } from '../../api';
import { formatInstant } from '../../i18n';
import { useSession } from '../../session';
import { CommandForm, Field, Section } from '../../ui';
import type { RunningState } from './Pipeline';

/** The decision the cycle waits for (approve, or override with a rationale) and objections to decide. */
export function DecisionsWaiting({ id, state }: { id: string; state: RunningState }) {
  const { t, language } = useSession();
  const [rationale, setRationale] = useState('');
  const [awardees, setAwardees] = useState('');
  const decision = state.decision && !state.decision.outcome ? state.decision : null;
  const objections = Object.entries(state.decision?.objections ?? {}).filter(([, o]) => o.status === 'filed');
  return (
    <Section title={t('decisions')}>
      {!decision && objections.length === 0 && <p>{t('noDecisions')}</p>}
      {decision && (
        <div className="decision" data-testid="decision">
          <p>
            {decision.kind} — {t('proposed')}: <strong>{decision.proposed.join(', ') || '—'}</strong> ({t('dueBy')} {formatInstant(decision.approvalDueAt, language)})
          </p>
          <Field label={t('rationale')}>{(fid) => <textarea id={fid} rows={2} value={rationale} onChange={(e) => setRationale(e.target.value)} />}</Field>
          {decision.kind === 'selection' ? (
            <>
              <CommandForm label={t('approveSelection')} send={() => call('post', '/v1/cycles/{id}/selection/approve', { path: { id }, body: rationale.trim() ? { rationale } : {} })} />
              <CommandForm
                label={t('overrideSelection')}
                send={() => call('post', '/v1/cycles/{id}/selection/override', { path: { id }, body: { awardees: awardees.split(',').map((a) => a.trim()).filter(Boolean), rationale } })}
              >
                <Field label={t('awardees')}>{(fid) => <input id={fid} value={awardees} onChange={(e) => setAwardees(e.target.value)} />}</Field>
              </CommandForm>
            </>
          ) : (
            <>
              <CommandForm
                label={t('approveNarrowing')}
                send={() => call('post', '/v1/cycles/{id}/narrowing/approve', { path: { id }, body: { round: decision.round, ...(rationale.trim() ? { rationale } : {}) } })}
              />
              <CommandForm
                label={t('overrideSelection')}
                send={() =>
                  call('post', '/v1/cycles/{id}/narrowing/override', { path: { id }, body: { round: decision.round, keep: awardees.split(',').map((a) => a.trim()).filter(Boolean), rationale } })
                }
              >
                <Field label={t('awardees')}>{(fid) => <input id={fid} value={awardees} onChange={(e) => setAwardees(e.target.value)} />}</Field>
              </CommandForm>
            </>
          )}
        </div>
      )}
      {objections.map(([applicationId]) => (
        <ObjectionDecision key={applicationId} id={id} applicationId={applicationId} />
      ))}
    </Section>
  );
}

function ObjectionDecision({ id, applicationId }: { id: string; applicationId: string }) {
  const { t } = useSession();
  const [reasoning, setReasoning] = useState('');
  const [upheld, setUpheld] = useState(false);
  return (
    <CommandForm
      label={`${t('decideObjection')}: ${applicationId}`}
      send={() => call('post', '/v1/cycles/{id}/objections/{applicationId}/decision', { path: { id, applicationId }, body: { upheld, reasoning } })}
    >
      <fieldset>
        <legend>{applicationId}</legend>
        <label>
          <input type="radio" name={`objection-${applicationId}`} checked={upheld} onChange={() => setUpheld(true)} /> {t('uphold')}
        </label>
        <label>
          <input type="radio" name={`objection-${applicationId}`} checked={!upheld} onChange={() => setUpheld(false)} /> {t('dismiss')}
        </label>
      </fieldset>
      <Field label={t('rationale')}>{(fid) => <textarea id={fid} rows={2} value={reasoning} onChange={(e) => setReasoning(e.target.value)} required />}</Field>
    </CommandForm>
  );
}
