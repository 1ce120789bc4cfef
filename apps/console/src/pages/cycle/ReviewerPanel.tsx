import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { call, rows } from '../../api';
import { useSession } from '../../session';
import { CommandForm, Field, Loading, Section } from '../../ui';
import type { ApplicationRow } from './ApplicationsTable';
import type { Policy } from './Pipeline';

/** The applications a reviewer owes a score for, each with a form generated from the policy's criteria, scales and gates. */
export function ReviewerPanel({ id, policy, stage }: { id: string; policy: Policy; stage: string }) {
  const { t } = useSession();
  const owed = useQuery({ queryKey: ['owed', id], queryFn: () => call('get', '/v1/cycles/{id}/owed', { path: { id } }), refetchInterval: 5000 });
  const applications = useQuery({ queryKey: ['applications', id], queryFn: () => call('get', '/v1/cycles/{id}/applications', { path: { id } }) });
  const evaluating = stage === 'evaluation';
  // Evaluation rounds count from 1, one per evaluation stage; the narrowings taken so far say which one runs.
  const awardees = useQuery({ queryKey: ['awardees', id], queryFn: () => call('get', '/v1/cycles/{id}/awardees', { path: { id } }), enabled: evaluating });
  const round = rows<{ kind: string }>(awardees.data?.decisions).filter((d) => d.kind === 'narrowing').length + 1;
  const scoringId = evaluating ? policy.stages.filter((s) => s.kind === 'evaluation')[round - 1]?.scoring : policy.stages.find((s) => s.kind === stage && s.scoring)?.scoring;
  const scheme = scoringId ? policy.scoring[scoringId] : undefined;
  return (
    <Section title={t('assigned')}>
      <Loading error={owed.error ?? applications.error} ready={!!owed.data && !!applications.data}>
        {() => {
          const owedIds = rows<{ applicationId: string | null; what: string }>(owed.data!.owed).filter((o) => o.what === 'review' || o.what === 'evaluation_scores').map((o) => o.applicationId);
          const all = rows<ApplicationRow>(applications.data!.applications);
          // Owed rows name the applications when the panel is assigned per application; otherwise every one in the round.
          const open = stage === 'review' ? all.filter((a) => a.status === 'submitted') : evaluating ? all.filter((a) => a.status === 'active') : [];
          const assigned = owedIds.some(Boolean) ? all.filter((a) => owedIds.includes(a.applicationId)) : open;
          if (!scheme || assigned.length === 0) return <p>{t('nothingOwed')}</p>;
          return assigned.map((a) => <ScoreForm key={a.applicationId} id={id} application={a} scheme={scheme} round={evaluating ? round : undefined} />);
        }}
      </Loading>
    </Section>
  );
}

/** A review (review rounds) or an evaluation score set (evaluation rounds, with the round) on the policy's criteria and gates. */
function ScoreForm({ id, application, scheme, round }: { id: string; application: ApplicationRow; scheme: Policy['scoring'][string]; round?: number }) {
  const { t } = useSession();
  const [scores, setScores] = useState<Record<string, string>>({});
  const [verdicts, setVerdicts] = useState<Record<string, 'pass' | 'fail'>>({});
  const [declared, setDeclared] = useState(false);
  const [reason, setReason] = useState('');
  return (
    <article className="score-form" aria-label={`${t('scoreForm')}: ${application.title}`}>
      <h3>
        {application.title} <small>({application.applicationId})</small>
      </h3>
      <CommandForm
        label={`${t('submit')} (${application.applicationId})`}
        send={() => {
          const sheet = {
            applicationId: application.applicationId,
            scores: Object.fromEntries(scheme.criteria.map((c) => [c.id, Number(scores[c.id] ?? c.scale.min)])),
            ...(scheme.gates.length ? { verdicts: Object.fromEntries(scheme.gates.map((g) => [g.id, verdicts[g.id] ?? ('pass' as const)])) } : {}),
            conflictOfInterest: { declared },
          };
          return round === undefined
            ? call('post', '/v1/cycles/{id}/reviews', { path: { id }, body: sheet })
            : call('post', '/v1/cycles/{id}/evaluation-scores', { path: { id }, body: { ...sheet, round } });
        }}
      >
        {scheme.criteria.map((c) => (
          <Field key={c.id} label={`${c.name} (${c.scale.min}–${c.scale.max}, ×${c.weight})`}>
            {(fid) => (
              <input id={fid} type="number" min={c.scale.min} max={c.scale.max} step="any" value={scores[c.id] ?? ''} onChange={(e) => setScores({ ...scores, [c.id]: e.target.value })} required />
            )}
          </Field>
        ))}
        {scheme.gates.map((g) => (
          <Field key={g.id} label={`${t('gates')}: ${g.name}`}>
            {(fid) => (
              <select id={fid} value={verdicts[g.id] ?? 'pass'} onChange={(e) => setVerdicts({ ...verdicts, [g.id]: e.target.value as 'pass' | 'fail' })}>
                <option value="pass">pass</option>
                <option value="fail">fail</option>
              </select>
            )}
          </Field>
        ))}
        <label className="check">
          <input type="checkbox" checked={declared} onChange={(e) => setDeclared(e.target.checked)} /> {t('conflict')}
        </label>
      </CommandForm>
      <CommandForm label={`${t('declareConflict')} (${application.applicationId})`} send={() => call('post', '/v1/cycles/{id}/applications/{applicationId}/conflicts', { path: { id, applicationId: application.applicationId }, body: { reason } })}>
        <Field label={t('reason')}>{(fid) => <input id={fid} value={reason} onChange={(e) => setReason(e.target.value)} />}</Field>
      </CommandForm>
    </article>
  );
}
