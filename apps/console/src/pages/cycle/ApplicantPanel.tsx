import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { call, rows } from '../../api';
import { formatInstant } from '../../i18n';
import { useSession } from '../../session';
import { CommandForm, Field, Loading, Section } from '../../ui';
import type { ApplicationRow } from './ApplicationsTable';

/** An applicant's own applications and their status; apply, withdraw, object or waive. */
export function ApplicantPanel({ id, org }: { id: string; org: string }) {
  const { t, language } = useSession();
  const applications = useQuery({ queryKey: ['applications', id], queryFn: () => call('get', '/v1/cycles/{id}/applications', { path: { id } }), refetchInterval: 5000 });
  const [title, setTitle] = useState('');
  const [summary, setSummary] = useState('');
  const [orgName, setOrgName] = useState(org);
  const [type, setType] = useState('company');
  return (
    <>
      <Section title={t('applications')}>
        <Loading error={applications.error} ready={!!applications.data}>
          {() => (
            <ul className="own-applications">
              {rows<ApplicationRow>(applications.data!.applications).map((a) => (
                <li key={a.applicationId} data-testid="own-application">
                  <strong>{a.title}</strong> ({a.applicationId}) — {t('status')}: <span className="status">{a.status}</span> · {formatInstant(a.submittedAt, language)}
                  <Actions id={id} applicationId={a.applicationId} />
                </li>
              ))}
            </ul>
          )}
        </Loading>
      </Section>
      <Section title={t('apply')}>
        <CommandForm
          label={t('submit')}
          send={() => call('post', '/v1/cycles/{id}/applications', { path: { id }, body: { title, ...(summary ? { summary } : {}), lead: { organisationId: org, name: orgName, type }, members: [] } })}
        >
          <Field label={t('title_')}>{(fid) => <input id={fid} value={title} onChange={(e) => setTitle(e.target.value)} required />}</Field>
          <Field label={t('summary')}>{(fid) => <textarea id={fid} rows={3} value={summary} onChange={(e) => setSummary(e.target.value)} />}</Field>
          <Field label={`${t('organisation')} (${org})`}>{(fid) => <input id={fid} value={orgName} onChange={(e) => setOrgName(e.target.value)} required />}</Field>
          <Field label="Type">
            {(fid) => (
              <select id={fid} value={type} onChange={(e) => setType(e.target.value)}>
                <option value="company">company</option>
                <option value="university">university</option>
                <option value="research_institute">research_institute</option>
              </select>
            )}
          </Field>
        </CommandForm>
      </Section>
    </>
  );
}

function Actions({ id, applicationId }: { id: string; applicationId: string }) {
  const { t } = useSession();
  const [grounds, setGrounds] = useState('');
  return (
    <details>
      <summary>
        {t('withdraw')} · {t('object')} · {t('waive')}
      </summary>
      <CommandForm label={`${t('withdraw')} ${applicationId}`} send={() => call('post', '/v1/cycles/{id}/applications/{applicationId}/withdraw', { path: { id, applicationId }, body: {} })} />
      <CommandForm label={`${t('object')} (${applicationId})`} send={() => call('post', '/v1/cycles/{id}/objections', { path: { id }, body: { applicationId, grounds } })}>
        <Field label={t('grounds')}>{(fid) => <textarea id={fid} rows={2} value={grounds} onChange={(e) => setGrounds(e.target.value)} />}</Field>
      </CommandForm>
      <CommandForm label={`${t('waive')} (${applicationId})`} send={() => call('post', '/v1/cycles/{id}/objections/{applicationId}/waive', { path: { id, applicationId }, body: {} })} />
    </details>
  );
}
