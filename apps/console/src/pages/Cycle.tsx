import { useQuery } from '@tanstack/react-query';
import { call } from '../api';
import { useSession } from '../session';
import { Loading } from '../ui';
import { ApplicantPanel } from './cycle/ApplicantPanel';
import { ApplicationsTable } from './cycle/ApplicationsTable';
import { AuditorPanel } from './cycle/AuditorPanel';
import { DecisionsWaiting } from './cycle/DecisionsWaiting';
import { Notifications } from './cycle/Notifications';
import { Owed } from './cycle/Owed';
import { Pipeline, type Policy, type RunningState } from './cycle/Pipeline';
import { Rankings } from './cycle/Rankings';
import { ReviewerPanel } from './cycle/ReviewerPanel';

interface CycleReadout {
  recorded: { programSlug: string; year: number; stage: string } | null;
  live: { stage: string } | null;
}

/** One cycle, as the signed-in role may see and act on it. */
export function Cycle({ id }: { id: string }) {
  const { principal } = useSession();
  const role = principal?.role;
  const privileged = role === 'program_manager' || role === 'auditor' || role === 'admin';
  const cycle = useQuery({ queryKey: ['cycle', id], queryFn: async () => (await call('get', '/v1/cycles/{id}', { path: { id } })) as unknown as CycleReadout, refetchInterval: 5000 });
  const slug = cycle.data?.recorded?.programSlug ?? id.split(':')[1];
  const program = useQuery({ queryKey: ['program', slug], queryFn: () => call('get', '/v1/programs/{slug}', { path: { slug } }), enabled: !!slug });
  const state = useQuery({
    queryKey: ['state', id],
    queryFn: async () => (await call('get', '/v1/cycles/{id}/state', { path: { id } })).state as unknown as RunningState,
    enabled: privileged,
    refetchInterval: 5000,
  });
  const stage = cycle.data?.live?.stage ?? cycle.data?.recorded?.stage ?? '';
  return (
    <>
      <h1>{id}</h1>
      <Loading error={cycle.error ?? program.error} ready={!!cycle.data && !!program.data && (!privileged || !!state.data)}>
        {() => {
          const policy = program.data!.policy as unknown as Policy;
          return (
            <>
              <Pipeline id={id} policy={policy} stage={stage} state={state.data} />
              <Owed id={id} />
              {role === 'program_manager' || role === 'admin' ? <DecisionsWaiting id={id} state={state.data!} /> : null}
              {role === 'applicant' ? <ApplicantPanel id={id} org={principal!.org ?? ''} /> : <ApplicationsTable id={id} />}
              {(role === 'reviewer' || role === 'evaluator') && <ReviewerPanel id={id} policy={policy} stage={stage} />}
              <Rankings id={id} />
              {privileged && <Notifications id={id} />}
              {privileged && <AuditorPanel id={id} />}
            </>
          );
        }}
      </Loading>
    </>
  );
}
