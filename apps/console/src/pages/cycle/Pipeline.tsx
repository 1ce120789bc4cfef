import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { call, rows } from '../../api';
import { countdown, formatInstant, timeZone } from '../../i18n';
import { useSession } from '../../session';
import { Section } from '../../ui';

export interface Policy {
  stages: Array<{ kind: string; name: string; scoring?: string; duration?: string | number; [key: string]: unknown }>;
  scoring: Record<string, { criteria: { id: string; name: string; weight: number; scale: { min: number; max: number } }[]; gates: { id: string; name: string }[] }>;
}
export interface RunningState {
  stage: string;
  stageIndex: number;
  deadlines: Record<string, string>;
  decision: {
    key: string;
    kind: 'selection' | 'narrowing';
    round: number;
    proposed: string[];
    candidates: string[];
    approvalDueAt: string;
    outcome: unknown;
    objections: Record<string, { status: string; at: string }>;
  } | null;
}

/** The policy's stages, each done, now or next, with its date; and a countdown to the next deadline. */
export function Pipeline({ id, policy, stage, state }: { id: string; policy: Policy; stage: string; state?: RunningState }) {
  const { t, language } = useSession();
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const owed = useQuery({ queryKey: ['owed', id], queryFn: () => call('get', '/v1/cycles/{id}/owed', { path: { id } }) });
  const timeline = useQuery({ queryKey: ['timeline', id], queryFn: () => call('get', '/v1/cycles/{id}/timeline', { path: { id } }), enabled: !!state });
  const current = state?.stageIndex ?? Math.max(0, policy.stages.findIndex((s) => s.kind === stage));
  const ended = stage === 'closed' || stage === 'cancelled';
  const deadlines = [
    ...Object.entries(state?.deadlines ?? {}).map(([kind, at]) => ({ kind, at })),
    ...rows<{ what: string; dueAt: string | null }>(owed.data?.owed).flatMap((o) => (o.dueAt ? [{ kind: o.what, at: o.dueAt }] : [])),
  ].filter((d) => Date.parse(d.at) > now);
  const next = deadlines.sort((a, b) => Date.parse(a.at) - Date.parse(b.at))[0];
  const events = rows<{ stage: string | null; occurredAt: string }>(timeline.data?.events);
  const lastAt = (kind: string) => events.filter((e) => e.stage === kind).at(-1)?.occurredAt;
  return (
    <Section title={t('pipeline')}>
      <p className="countdown" aria-live="polite">
        {next ? (
          <>
            <strong>{t('nextDeadline')}:</strong> {next.kind} — {formatInstant(next.at, language)} (<span data-testid="countdown">{countdown(next.at, now)}</span>)
          </>
        ) : (
          t('noDeadline')
        )}{' '}
        <small>
          {t('timeZone')} {timeZone}
        </small>
      </p>
      <ol className="pipeline">
        {policy.stages.map((s, i) => {
          const status = ended || i < current ? 'done' : i === current ? 'now' : 'next';
          const date = status === 'done' ? lastAt(s.kind) : status === 'now' ? next?.at : undefined;
          return (
            <li key={`${s.kind}-${i}`} className={`stage ${status}`} aria-current={status === 'now' ? 'step' : undefined}>
              <span className="badge">{t(status)}</span> <strong>{s.name}</strong> <small>({s.kind})</small>
              {/* A stage to come shows its planned length from the policy; one passed or running, its date when the caller may read it. */}
              <div>{date ? formatInstant(date, language) : status === 'next' && s.duration ? String(s.duration) : ''}</div>
            </li>
          );
        })}
      </ol>
    </Section>
  );
}
