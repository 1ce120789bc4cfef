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
  signIn(token: string): void;
  signOut(): void;
  language: Language;
  setLanguage(language: Language): void;
  t(key: MessageKey): string;
  path: string;
  navigate(path: string): void;
}

const SessionContext = createContext<Session | null>(null);
const BASE = '/console';

/** The claims of a bearer token, read (not verified: the API verifies every call). */
export function claimsOf(token: string): Principal | null {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(payload)) as Partial<Principal> & { exp?: number };
    if (!claims.sub || !claims.role || (claims.exp && claims.exp * 1000 < Date.now())) return null;
    return { sub: claims.sub, role: claims.role, ...(claims.org ? { org: claims.org } : {}) };
  } catch {
    return null;
  }
}

const here = () => window.location.pathname.replace(/^\/console/, '') || '/';

export function SessionProvider({ children }: { children: ReactNode }) {
  const [token, setToken] = useState<string | null>(() => sessionStorage.getItem('concentra.token'));
  const [language, setLanguageState] = useState<Language>(() => (localStorage.getItem('concentra.language') as Language | null) ?? (navigator.language.startsWith('ko') ? 'ko' : 'en'));
  const [path, setPath] = useState(here);
  const principal = useMemo(() => (token ? claimsOf(token) : null), [token]);
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
    signIn: (value) => {
      sessionStorage.setItem('concentra.token', value);
      setToken(value);
    },
    signOut: () => {
      sessionStorage.removeItem('concentra.token');
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
