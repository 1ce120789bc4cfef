import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { call } from '../api';
import { formatInstant } from '../i18n';
import { Link, useSession } from '../session';
import { CommandForm, Field, Loading, Section } from '../ui';

interface Program {
  slug: string;
  name: string;
  createdAt: string;
}

/** Programs and their cycles; program managers create programs and start cycles here. */
export function Programs() {
  const { t, principal } = useSession();
  const programs = useQuery({ queryKey: ['programs'], queryFn: () => call('get', '/v1/programs') });
  const manager = principal?.role === 'program_manager' || principal?.role === 'admin';
  const [slug, setSlug] = useState('');
  const [name, setName] = useState('');
  return (
    <>
      <h1>{t('programs')}</h1>
      <Loading error={programs.error} ready={!!programs.data}>
        {() => (programs.data as unknown as Program[]).map((p) => <ProgramCycles key={p.slug} program={p} manager={manager} />)}
      </Loading>
      {manager && (
        <Section title={t('newProgram')}>
          <CommandForm label={t('create')} send={() => call('post', '/v1/programs', { body: { slug, name } })}>
            <Field label={t('slug')}>{(id) => <input id={id} value={slug} onChange={(e) => setSlug(e.target.value)} required />}</Field>
            <Field label={t('name')}>{(id) => <input id={id} value={name} onChange={(e) => setName(e.target.value)} required />}</Field>
          </CommandForm>
        </Section>
      )}
    </>
  );
}

interface CycleRow {
  id: string;
  year: number;
  stage: string;
  openedAt: string;
}

/** "reviewer rev-1 org-a" per line: the panel named at the cycle's start. */
function parsePanel(text: string) {
  const panel = { reviewers: [] as { subject: string; organisationId?: string }[], evaluators: [] as { subject: string; organisationId?: string }[] };
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const [role, subject, organisationId] = line.split(/\s+/);
    const member = { subject, ...(organisationId ? { organisationId } : {}) };
    if (role === 'reviewer') panel.reviewers.push(member);
    else if (role === 'evaluator') panel.evaluators.push(member);
  }
  return panel;
}

function ProgramCycles({ program, manager }: { program: Program; manager: boolean }) {
  const { t, language, navigate } = useSession();
  const cycles = useQuery({ queryKey: ['cycles', program.slug], queryFn: () => call('get', '/v1/programs/{slug}/cycles', { path: { slug: program.slug } }), refetchInterval: 5000 });
  const [year, setYear] = useState(String(new Date().getFullYear() + 1));
  const [panel, setPanel] = useState('');
  return (
    <Section title={`${program.name} (${program.slug})`}>
      <Loading error={cycles.error} ready={!!cycles.data}>
        {() => (
          <table>
            <caption>{t('cycles')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('year')}</th>
                <th scope="col">{t('stage')}</th>
                <th scope="col">{t('open')}</th>
              </tr>
            </thead>
            <tbody>
              {(cycles.data as unknown as CycleRow[]).map((c) => (
                <tr key={c.id}>
                  <td>{c.year}</td>
                  <td>{c.stage}</td>
                  <td>
                    <Link to={`/cycles/${encodeURIComponent(c.id)}`}>{c.id}</Link> <small>{formatInstant(c.openedAt, language)}</small>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loading>
      {manager && (
        <CommandForm
          label={`${t('startCycle')} (${program.slug})`}
          send={async () => {
            const started = await call('post', '/v1/programs/{slug}/cycles', { path: { slug: program.slug }, body: { year: Number(year), ...(panel.trim() ? { panel: parsePanel(panel) } : {}) } });
            navigate(`/cycles/${encodeURIComponent(started.id)}`);
          }}
        >
          <Field label={t('year')}>{(id) => <input id={id} type="number" value={year} onChange={(e) => setYear(e.target.value)} required />}</Field>
          <Field label="Panel (reviewer|evaluator subject organisation)">{(id) => <textarea id={id} rows={3} value={panel} onChange={(e) => setPanel(e.target.value)} />}</Field>
        </CommandForm>
      )}
    </Section>
  );
}
