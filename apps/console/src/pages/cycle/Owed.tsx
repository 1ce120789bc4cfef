import { useQuery } from '@tanstack/react-query';
import { call, rows } from '../../api';
import { formatInstant } from '../../i18n';
import { useSession } from '../../session';
import { Loading, Section } from '../../ui';

interface OwedRow {
  who: { role: string; subject?: string; organisationId?: string };
  what: string;
  /** Which grant report, for `grant_report` and `grant_report_review`. */
  reportId?: string;
  applicationId: string | null;
  dueAt: string | null;
}

/** Who owes what by when (others than managers and auditors see what they owe themselves). */
export function Owed({ id }: { id: string }) {
  const { t, language } = useSession();
  const owed = useQuery({ queryKey: ['owed', id], queryFn: () => call('get', '/v1/cycles/{id}/owed', { path: { id } }), refetchInterval: 5000 });
  return (
    <Section title={t('owed')}>
      <Loading error={owed.error} ready={!!owed.data}>
        {() => {
          const list = rows<OwedRow>(owed.data!.owed);
          if (list.length === 0) return <p>{t('nothingOwed')}</p>;
          return (
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('who')}</th>
                  <th scope="col">{t('what')}</th>
                  <th scope="col">{t('application')}</th>
                  <th scope="col">{t('dueBy')}</th>
                </tr>
              </thead>
              <tbody>
                {list.map((o, i) => (
                  <tr key={i}>
                    <td>{[o.who.role, o.who.subject, o.who.organisationId].filter(Boolean).join(' · ')}</td>
                    <td>{o.reportId ? `${o.what} "${o.reportId}"` : o.what}</td>
                    <td>{o.applicationId ?? '—'}</td>
                    <td>{formatInstant(o.dueAt, language)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          );
        }}
      </Loading>
    </Section>
  );
}
