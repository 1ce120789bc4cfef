import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { call, rows } from '../api';
import { formatInstant } from '../i18n';
import { useSession } from '../session';
import { Field, Loading, Section } from '../ui';

interface Point {
  at: string;
  site: string;
  gpuType: string;
  capacity: number;
  reserved: number;
  allocated: number;
}

/** The national GPU pool over time: capacity, reserved and allocated, by site and GPU type. */
export function GpuPool() {
  const { t, language } = useSession();
  const pool = useQuery({ queryKey: ['gpu-pool'], queryFn: () => call('get', '/v1/gpu/pool', { query: { step: '7 days' } }) });
  const [which, setWhich] = useState('');
  return (
    <>
      <h1>{t('gpuPool')}</h1>
      <Loading error={pool.error} ready={!!pool.data}>
        {() => {
          const series = rows<Point>(pool.data!.series);
          const keys = [...new Set(series.map((p) => `${p.site} · ${p.gpuType}`))];
          const key = which || keys[0] || '';
          const data = series.filter((p) => `${p.site} · ${p.gpuType}` === key).map((p) => ({ ...p, label: formatInstant(p.at, language) }));
          return (
            <Section title={key || t('gpuPool')}>
              <Field label={`${t('gpuPool')}: site · type`}>
                {(id) => (
                  <select id={id} value={key} onChange={(e) => setWhich(e.target.value)}>
                    {keys.map((k) => (
                      <option key={k}>{k}</option>
                    ))}
                  </select>
                )}
              </Field>
              <figure role="group" aria-label={`${t('gpuPool')} ${key}`}>
                <ResponsiveContainer width="100%" height={320}>
                  <LineChart data={data} margin={{ top: 8, right: 24, bottom: 8, left: 8 }}>
                    <CartesianGrid strokeDasharray="3 3" />
                    <XAxis dataKey="label" minTickGap={40} />
                    <YAxis allowDecimals={false} />
                    <Tooltip />
                    <Legend />
                    <Line type="stepAfter" dataKey="capacity" name={t('capacity')} stroke="#1d4ed8" dot={false} />
                    <Line type="stepAfter" dataKey="reserved" name={t('reserved')} stroke="#b45309" dot={false} />
                    <Line type="stepAfter" dataKey="allocated" name={t('allocated')} stroke="#047857" dot={false} />
                  </LineChart>
                </ResponsiveContainer>
                <figcaption>
                  {t('capacity')} / {t('reserved')} / {t('allocated')}: {data.at(-1) ? `${data.at(-1)!.capacity} / ${data.at(-1)!.reserved} / ${data.at(-1)!.allocated}` : '—'}
                </figcaption>
              </figure>
            </Section>
          );
        }}
      </Loading>
    </>
  );
}
