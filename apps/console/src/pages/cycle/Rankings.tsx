import { useQuery } from '@tanstack/react-query';
import { call, rows } from '../../api';
import { formatInstant } from '../../i18n';
import { useSession } from '../../session';
import { Loading, Section } from '../../ui';

interface Detailed {
  kind: string;
  key: string;
  at: string;
  result: {
    criteria: string[];
    ranking: { candidateId: string; position: number; total: number; scoreCount: number; perCriterion: Record<string, number> }[];
    removedByGate: { candidateId: string; failedGates: string[] }[];
  };
}
interface Published {
  kind: string;
  key: string;
  at: string;
  aggregates: Record<string, unknown>;
}

/** Per-team, per-criterion scores and gate results for managers and auditors; the published aggregates for everyone else. */
export function Rankings({ id }: { id: string }) {
  const { t, language } = useSession();
  const rankings = useQuery({ queryKey: ['rankings', id], queryFn: () => call('get', '/v1/cycles/{id}/rankings', { path: { id } }), refetchInterval: 5000 });
  return (
    <Section title={t('rankings')}>
      <Loading error={rankings.error} ready={!!rankings.data}>
        {() =>
          rows<Detailed | Published>(rankings.data!.rankings).map((r) =>
            'result' in r ? (
              <table key={r.key} data-testid="ranking">
                <caption>
                  {r.kind} {r.key} — {formatInstant(r.at, language)}
                </caption>
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">{t('application')}</th>
                    {r.result.criteria.map((c) => (
                      <th scope="col" key={c}>
                        {c}
                      </th>
                    ))}
                    <th scope="col">{t('total')}</th>
                    <th scope="col">{t('scores')}</th>
                  </tr>
                </thead>
                <tbody>
                  {r.result.ranking.map((c) => (
                    <tr key={c.candidateId}>
                      <td>{c.position}</td>
                      <td>{c.candidateId}</td>
                      {r.result.criteria.map((k) => (
                        <td key={k}>{c.perCriterion[k]?.toFixed(2)}</td>
                      ))}
                      <td>{c.total.toFixed(2)}</td>
                      <td>{c.scoreCount}</td>
                    </tr>
                  ))}
                  {r.result.removedByGate.map((g) => (
                    <tr key={g.candidateId} className="gated">
                      <td>—</td>
                      <td>{g.candidateId}</td>
                      <td colSpan={r.result.criteria.length + 2}>
                        {t('removedByGate')}: {g.failedGates.join(', ')}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <div key={r.key} data-testid="published-ranking">
                <p>{t('noScoresForYou')}</p>
                <dl>
                  {Object.entries(r.aggregates).map(([k, v]) => (
                    <div key={k}>
                      <dt>{k}</dt>
                      <dd>{JSON.stringify(v)}</dd>
                    </div>
                  ))}
                </dl>
              </div>
            ),
          )
        }
      </Loading>
    </Section>
  );
}
