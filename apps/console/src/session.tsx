import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { setBearer } from './api';
import { dictionaries, type Language, type MessageKey } from './i18n';

export type Role = 'admin' | 'program_manager' | 'reviewer' | 'evaluator' | 'applicant' | 'auditor';
export interface Principal {
  sub: string;
  role: Role;
  org?: string;
}

interface Session {
  principal: Principal | null;
  /** `principal`: how the token's claims name the caller, when not the API's own claims (an identity provider's). */
  signIn(token: string, principal?: Principal): void;
  signOut(): void;
  language: Language;
  setLanguage(language: Language): void;
  t(key: MessageKey): string;
  path: string;
  navigate(path: string): void;
}

const SessionContext = createContext<Session | null>(null);
const BASE = '/console';

const ROLES: Role[] = ['admin', 'program_manager', 'reviewer', 'evaluator', 'applicant', 'auditor'];

/**
 * The caller named by a bearer token's claims, read (not verified: the API verifies every call).
 * The role claim may be a list (an identity provider's `roles`): its first known role, as the API takes it.
 */
export function claimsOf(token: string, mapping = { roleClaim: 'role', orgClaim: 'org' }): Principal | null {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(decodeURIComponent(escape(atob(payload)))) as Record<string, unknown> & { sub?: string; exp?: number };
    const raw = claims[mapping.roleClaim];
    const role = (Array.isArray(raw) ? raw : [raw]).find((v): v is Role => ROLES.includes(v as Role));
    const org = claims[mapping.orgClaim];
    if (!claims.sub || !role || (claims.exp && claims.exp * 1000 < Date.now())) return null;
    return { sub: claims.sub, role, ...(typeof org === 'string' && org ? { org } : {}) };
  } catch {
    return null;
  }
}

const storedPrincipal = (): Principal | null => JSON.parse(sessionStorage.getItem('concentra.principal') ?? 'null') as Principal | null;

const here = () => window.location.pathname.replace(/^\/console/, '') || '/';

export function SessionProvider({ children }: { children: ReactNode }) {
  const [token, setToken] = useState<string | null>(() => sessionStorage.getItem('concentra.token'));
  const [language, setLanguageState] = useState<Language>(() => (localStorage.getItem('concentra.language') as Language | null) ?? (navigator.language.startsWith('ko') ? 'ko' : 'en'));
  const [path, setPath] = useState(here);
  const principal = useMemo(() => (token ? (storedPrincipal() ?? claimsOf(token)) : null), [token]);
  setBearer(principal ? token : null);

  useEffect(() => {
    const onPop = () => setPath(here());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  useEffect(() => void (document.documentElement.lang = language), [language]);

  const navigate = useCallback((to: string) => {
    window.history.pushState(null, '', `${BASE}${to}`);
    setPath(to);
    window.scrollTo(0, 0);
  }, []);
  const session: Session = {
    principal,
    signIn: (value, named) => {
      if (named) sessionStorage.setItem('concentra.principal', JSON.stringify(named));
      else sessionStorage.removeItem('concentra.principal');
      sessionStorage.setItem('concentra.token', value);
      setToken(value);
    },
    signOut: () => {
      sessionStorage.removeItem('concentra.token');
      sessionStorage.removeItem('concentra.principal');
      setToken(null);
      navigate('/');
    },
    language,
    setLanguage: (value) => {
      localStorage.setItem('concentra.language', value);
      setLanguageState(value);
    },
    t: (key) => dictionaries[language][key],
    path,
    navigate,
  };
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}

/** An in-console link: a real <a href> (keyboard, new tab) that navigates without reloading. */
export function Link({ to, children }: { to: string; children: ReactNode }) {
  const { navigate } = useSession();
  return (
    <a
      href={`${BASE}${to}`}
      onClick={(event) => {
        if (event.metaKey || event.ctrlKey || event.shiftKey) return;
        event.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}
