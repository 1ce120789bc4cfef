import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { call, rows } from '../../api';
import { useSession } from '../../session';
import { CommandForm, Field, Loading, Section } from '../../ui';

/** The auditor's tools: the timeline (read-only), verify and re-derive, the export, the state as of a moment. */
export function AuditorPanel({ id }: { id: string }) {
  const { t, principal } = useSession();
  const timeline = useQuery({ queryKey: ['audit-timeline', id], queryFn: () => call('get', '/v1/audit/cycles/{id}/timeline', { path: { id } }) });
  const [verified, setVerified] = useState<unknown>(null);
  const [rederived, setRederived] = useState<unknown>(null);
  const [asOf, setAsOf] = useState('');
  const [state, setState] = useState<unknown>(null);
  const exportBundle = async () => {
    const bundle = await call('get', '/v1/audit/cycles/{id}/export', { path: { id } });
    const url = URL.createObjectURL(new Blob([JSON.stringify(bundle, null, 2)], { type: 'application/json' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `${id.replace(/:/g, '-')}.bundle.json`;
    a.click();
    URL.revokeObjectURL(url);
  };
  return (
    <Section title={t('audit')}>
      <div className="actions">
        <CommandForm label={t('verify')} send={async () => setVerified(await call('get', '/v1/audit/cycles/{id}/verify', { path: { id } }))} />
        <CommandForm label={t('rederive')} send={async () => setRederived(await call('get', '/v1/audit/cycles/{id}/rederive', { path: { id } }))} />
        {principal?.role !== 'program_manager' && <CommandForm label={t('exportBundle')} send={exportBundle} />}
      </div>
      {verified !== null && <Result title={t('verify')} value={verified} testId="verify-result" />}
      {rederived !== null && <Result title={t('rederive')} value={rederived} testId="rederive-result" />}
      <CommandForm label={t('stateAsOf')} send={async () => setState(await call('get', '/v1/audit/cycles/{id}/state', { path: { id }, query: { asOf: new Date(asOf).toISOString() } }))}>
        <Field label={t('date')}>{(fid) => <input id={fid} type="datetime-local" value={asOf} onChange={(e) => setAsOf(e.target.value)} required />}</Field>
      </CommandForm>
      {state !== null && <Result title={t('stateAsOf')} value={state} testId="state-as-of" />}
      <h3>{t('timeline')}</h3>
      <Loading error={timeline.error} ready={!!timeline.data}>
        {() => (
          <ol data-testid="timeline" className="timeline">
            {rows<string>(timeline.data!.lines).map((line, i) => (
              <li key={i}>{line}</li>
            ))}
          </ol>
        )}
      </Loading>
    </Section>
  );
}

function Result({ title, value, testId }: { title: string; value: unknown; testId: string }) {
  const { t } = useSession();
  return (
    <details open data-testid={testId}>
      <summary>
        {title}: {t('result')}
      </summary>
      <pre tabIndex={0}>{JSON.stringify(value, null, 2)}</pre>
    </details>
  );
}
