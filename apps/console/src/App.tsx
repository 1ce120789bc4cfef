import type { Language } from './i18n';
import { AccessLog } from './pages/AccessLog';
import { Cycle } from './pages/Cycle';
import { GpuPool } from './pages/GpuPool';
import { Programs } from './pages/Programs';
import { SignIn, SignInCallback } from './pages/SignIn';
import { Link, useSession } from './session';

export function App() {
  const { principal, t, language, setLanguage, signOut, path } = useSession();
  const role = principal?.role;
  const privileged = role === 'program_manager' || role === 'auditor' || role === 'admin';
  const cycle = /^\/cycles\/([^/]+)$/.exec(path);
  let page;
  if (path === '/callback') page = <SignInCallback />;
  else if (!principal) page = <SignIn />;
  else if (cycle) page = <Cycle id={decodeURIComponent(cycle[1])} />;
  else if (path === '/gpu' && privileged) page = <GpuPool />;
  else if (path === '/access-log' && (role === 'auditor' || role === 'admin')) page = <AccessLog />;
  else page = <Programs />;
  return (
    <>
      <a className="skip" href="#main">
        {t('skip')}
      </a>
      <header>
        <span className="brand">{t('title')}</span>
        {principal && (
          <nav aria-label="main">
            <Link to="/">{t('programs')}</Link>
            {privileged && <Link to="/gpu">{t('gpuPool')}</Link>}
            {(role === 'auditor' || role === 'admin') && <Link to="/access-log">{t('accessLog')}</Link>}
          </nav>
        )}
        <div className="who">
          <label>
            {t('language')}{' '}
            <select value={language} onChange={(e) => setLanguage(e.target.value as Language)}>
              <option value="en">English</option>
              <option value="ko">한국어</option>
            </select>
          </label>
          {principal && (
            <>
              <span data-testid="principal">
                {principal.role} · {principal.sub}
                {principal.org ? ` · ${principal.org}` : ''}
              </span>
              <button type="button" onClick={signOut}>
                {t('signOut')}
              </button>
            </>
          )}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}
