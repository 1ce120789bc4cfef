import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { call, rows } from '../../api';
import { formatInstant } from '../../i18n';
import { useSession } from '../../session';
import { Field, Loading, Section } from '../../ui';

export interface ApplicationRow {
  applicationId: string;
  title: string;
  status: string;
  lead: { organisationId: string; name: string };
  submittedAt: string;
}

type Key = 'applicationId' | 'title' | 'status' | 'lead' | 'submittedAt';
const value = (a: ApplicationRow, key: Key) => (key === 'lead' ? a.lead.name : a[key]);

/** The applications, filtered by text and status, sorted by any column (its header is a button). */
export function ApplicationsTable({ id }: { id: string }) {
  const { t, language } = useSession();
  const applications = useQuery({ queryKey: ['applications', id], queryFn: () => call('get', '/v1/cycles/{id}/applications', { path: { id } }), refetchInterval: 5000 });
  const [text, setText] = useState('');
  const [status, setStatus] = useState('');
  const [sort, setSort] = useState<{ key: Key; up: boolean }>({ key: 'submittedAt', up: true });
  const columns: [Key, string][] = [
    ['applicationId', t('application')],
    ['title', t('title_')],
    ['lead', t('lead')],
    ['status', t('status')],
    ['submittedAt', t('submittedAt')],
  ];
  return (
    <Section title={t('applications')}>
      <Loading error={applications.error} ready={!!applications.data}>
        {() => {
          const all = rows<ApplicationRow>(applications.data!.applications);
          const statuses = [...new Set(all.map((a) => a.status))];
          const shown = all
            .filter((a) => (!status || a.status === status) && (!text || `${a.applicationId} ${a.title} ${a.lead.name}`.toLowerCase().includes(text.toLowerCase())))
            .sort((a, b) => String(value(a, sort.key)).localeCompare(String(value(b, sort.key))) * (sort.up ? 1 : -1));
          return (
            <>
              <div className="filters">
                <Field label={t('filter')}>{(fid) => <input id={fid} type="search" value={text} onChange={(e) => setText(e.target.value)} />}</Field>
                <Field label={t('status')}>
                  {(fid) => (
                    <select id={fid} value={status} onChange={(e) => setStatus(e.target.value)}>
                      <option value="">{t('all')}</option>
                      {statuses.map((s) => (
                        <option key={s}>{s}</option>
                      ))}
                    </select>
                  )}
                </Field>
              </div>
              <table>
                <thead>
                  <tr>
                    {columns.map(([key, label]) => (
                      <th key={key} scope="col" aria-sort={sort.key === key ? (sort.up ? 'ascending' : 'descending') : 'none'}>
                        <button type="button" className="sort" onClick={() => setSort({ key, up: sort.key === key ? !sort.up : true })}>
                          {label}
                        </button>
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {shown.map((a) => (
                    <tr key={a.applicationId}>
                      <td>{a.applicationId}</td>
                      <td>{a.title}</td>
                      <td>{a.lead.name}</td>
                      <td>{a.status}</td>
                      <td>{formatInstant(a.submittedAt, language)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          );
        }}
      </Loading>
    </Section>
  );
}
