import { useState } from 'react';
import { call, rows } from '../api';
import { formatInstant } from '../i18n';
import { useSession } from '../session';
import { CommandForm, Field } from '../ui';

/** Who used the audit routes on a day (UTC). */
export function AccessLog() {
  const { t, language } = useSession();
  const [date, setDate] = useState(new Date().toISOString().slice(0, 10));
  const [entries, setEntries] = useState<{ at: string; who: unknown; action: string }[] | null>(null);
  return (
    <>
      <h1>{t('accessLog')}</h1>
      <CommandForm label={t('show')} send={async () => setEntries(rows(await call('get', '/v1/audit/access-log', { query: { date } })))}>
        <Field label={`${t('date')} (UTC)`}>{(id) => <input id={id} type="date" value={date} onChange={(e) => setDate(e.target.value)} required />}</Field>
      </CommandForm>
      {entries && (
        <table data-testid="access-log">
          <thead>
            <tr>
              <th scope="col">{t('date')}</th>
              <th scope="col">{t('who')}</th>
              <th scope="col">{t('what')}</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e, i) => (
              <tr key={i}>
                <td>{formatInstant(e.at, language)}</td>
                <td>{typeof e.who === 'string' ? e.who : JSON.stringify(e.who)}</td>
                <td>{e.action}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
