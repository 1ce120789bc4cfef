import { useQuery } from '@tanstack/react-query';
import { call, rows } from '../../api';
import { formatInstant } from '../../i18n';
import { useSession } from '../../session';
import { CommandForm, Loading, Section } from '../../ui';

interface Notice {
  key: string;
  kind: string;
  channel: string;
  address: string;
  subject: string;
  status: string;
  attempts: number;
  createdAt: string;
  deliveredAt: string | null;
}

/** Who was told what, when, by which channel, delivered or not; a program manager may send again what never arrived. */
export function Notifications({ id }: { id: string }) {
  const { t, language, principal } = useSession();
  const notices = useQuery({ queryKey: ['notifications', id], queryFn: () => call('get', '/v1/cycles/{id}/notifications', { path: { id } }), refetchInterval: 10_000 });
  const manager = principal?.role === 'program_manager' || principal?.role === 'admin';
  return (
    <Section title={t('notifications')}>
      <Loading error={notices.error} ready={!!notices.data}>
        {() => (
          <table>
            <thead>
              <tr>
                <th scope="col">{t('date')}</th>
                <th scope="col">{t('what')}</th>
                <th scope="col">{t('who')}</th>
                <th scope="col">{t('status')}</th>
              </tr>
            </thead>
            <tbody>
              {rows<Notice>(notices.data).map((n) => (
                <tr key={n.key}>
                  <td>{formatInstant(n.createdAt, language)}</td>
                  <td>
                    {n.kind}: {n.subject}
                  </td>
                  <td>
                    {n.channel} {n.address}
                  </td>
                  <td>
                    {n.status} ({n.attempts}){n.deliveredAt ? ` ${formatInstant(n.deliveredAt, language)}` : ''}
                    {manager && n.status === 'dead' && (
                      <CommandForm label={`${t('redeliver')} ${n.key}`} send={() => call('post', '/v1/cycles/{id}/notifications/{key}/redeliver', { path: { id, key: n.key } })} />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loading>
    </Section>
  );
}
