import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { call } from '../api';
import { finishSignIn, startSignIn, type ConsoleConfig } from '../oidc';
import { claimsOf, useSession, type Role } from '../session';
import { CommandForm, Field, Problem, Section } from '../ui';

/** The sign-in configuration the API serves beside the console (/console/config.json). */
export function useConsoleConfig() {
  return useQuery({ queryKey: ['console-config'], queryFn: async () => (await (await fetch('/console/config.json')).json()) as ConsoleConfig, staleTime: Infinity });
}

/** /console/callback: the provider sent the browser back with a code; redeem it, then go home. */
export function SignInCallback() {
  const { signIn, navigate } = useSession();
  const config = useConsoleConfig();
  const [error, setError] = useState<unknown>(null);
  const started = useRef(false);
  useEffect(() => {
    if (!config.data?.oidc || started.current) return;
    started.current = true;
    finishSignIn(config.data.oidc, window.location.search).then(
      (token) => {
        const { roleClaim, orgClaim } = config.data!.oidc!;
        signIn(token, claimsOf(token, { roleClaim, orgClaim }) ?? undefined);
        navigate('/');
      },
      (e: unknown) => setError(e),
    );
  }, [config.data, signIn, navigate]);
  return <Problem error={error ?? config.error} />;
}

const ROLES: Role[] = ['program_manager', 'auditor', 'applicant', 'reviewer', 'evaluator', 'admin'];

/** Development: a token for a role from the API's local sign-in. Production: a bearer token from the identity provider. */
export function SignIn() {
  const { t, signIn } = useSession();
  const [role, setRole] = useState<Role>('program_manager');
  const [org, setOrg] = useState('');
  const [sub, setSub] = useState('');
  const [token, setToken] = useState('');
  const config = useConsoleConfig();
  const oidc = config.data?.oidc;
  return (
    <>
      <h1>{t('signIn')}</h1>
      {oidc && (
        <Section title={t('signInProvider')}>
          <CommandForm label={t('signInProvider')} send={() => startSignIn(oidc)} />
        </Section>
      )}
      {config.data?.devSignIn && (<Section title={t('signInLocal')}>
        <p>{t('signInHelp')}</p>
        <CommandForm
          label={t('signIn')}
          send={async () => {
            const answer = await call('post', '/v1/dev/tokens', { body: { role, ...(org ? { org } : {}), ...(sub ? { sub } : {}) } });
            signIn(answer.token);
          }}
        >
          <Field label={t('role')}>
            {(id) => (
              <select id={id} value={role} onChange={(e) => setRole(e.target.value as Role)}>
                {ROLES.map((r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label={t('organisation')}>{(id) => <input id={id} value={org} onChange={(e) => setOrg(e.target.value)} autoComplete="organization" />}</Field>
          <Field label={t('subject')}>{(id) => <input id={id} value={sub} onChange={(e) => setSub(e.target.value)} autoComplete="username" />}</Field>
        </CommandForm>
      </Section>)}
      <Section title={t('token')}>
        <CommandForm label={t('useToken')} send={async () => signIn(token.trim())}>
          <Field label={t('token')}>{(id) => <textarea id={id} rows={3} value={token} onChange={(e) => setToken(e.target.value)} />}</Field>
        </CommandForm>
      </Section>
    </>
  );
}
