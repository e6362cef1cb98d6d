import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import { failureText, operatorClient, startPresence, type Operator } from './operatorApi';
import { loadConsoleConfig, type ConsoleConfig } from './config';
import type { Session } from './cognito';
import type { Resource } from './hooks';
import { Queue } from './Queue';
import { Reviews } from './Reviews';
import { parseConsoleHash, queueHash, REVIEWS_HASH } from './routes';
import { loadSession, saveSession } from './session';
import { SignIn } from './SignIn';
import { TicketView } from './TicketView';

export const SIGNED_OUT_BY_API =
  'You have been signed out: the operator API no longer accepts your sign-in (it expired or was revoked). Please sign in again.';

const TITLES = { queue: 'Queue', ticket: 'Ticket', reviews: 'Reviews' } as const;

/** The operator console: sign-in, then the queue (#/), a ticket (#/tickets/<id>) and the reviews (#/reviews). */
export function ConsoleApp() {
  const [config, setConfig] = useState<Resource<ConsoleConfig>>({ phase: 'loading' });
  const [session, setSession] = useState<Session | null>(() => loadSession());
  // Why the operator is on the sign-in page again (a 401), shown there.
  const [notice, setNotice] = useState<string | null>(null);
  const [operator, setOperator] = useState<Operator | null>(null);
  const [route, setRoute] = useState(() => parseConsoleHash(window.location.hash));
  const [live, setLive] = useState('');

  useEffect(() => {
    void loadConsoleConfig(document.baseURI).then((r) =>
      setConfig(
        r.kind === 'found'
          ? { phase: 'found', value: r.value }
          : { phase: 'error', message: `The console's configuration (config.json) could not be read. ${failureText(r)}` },
      ),
    );
  }, []);

  useEffect(() => {
    const onHash = () => setRoute(parseConsoleHash(window.location.hash));
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    document.title = `${session ? TITLES[route.view] : 'Sign in'} — Tandem operator console`;
  }, [session, route.view]);

  const signOut = useCallback((message: string | null) => {
    saveSession(null);
    setSession(null);
    setOperator(null);
    setNotice(message);
    setLive(message ?? 'Signed out.');
  }, []);

  const apiBase = config.phase === 'found' ? config.value.apiBase : null;
  const client = useMemo(
    () =>
      apiBase !== null && session
        ? operatorClient({ apiBase, token: session.idToken, onUnauthorized: () => signOut(SIGNED_OUT_BY_API) })
        : null,
    [apiBase, session, signOut],
  );

  // Presence: while signed in, GET /operator/me every minute keeps the operator assignable.
  useEffect(() => {
    if (!client) return;
    return startPresence(() => {
      void client.me().then((r) => {
        if (r.kind === 'found') setOperator(r.value);
      });
    });
  }, [client]);

  const liveRegion = (
    <div className="ts-visually-hidden" aria-live="polite" aria-atomic="true" data-testid="console-live">
      {live}
    </div>
  );

  if (config.phase !== 'found') {
    return (
      <div className="tandem-support ts-page ts-console">
        <main className="ts-main">
          {config.phase === 'loading' ? (
            <p className="ts-card ts-loading" aria-busy="true">
              Loading…
            </p>
          ) : (
            <div className="ts-banner ts-banner--error" role="alert">
              <p>{config.message}</p>
            </div>
          )}
        </main>
      </div>
    );
  }

  if (!client) {
    return (
      <div className="tandem-support ts-page ts-console">
        {liveRegion}
        <Header />
        <main className="ts-main ts-main--narrow">
          <SignIn
            config={config.value}
            notice={notice}
            announce={setLive}
            onSignedIn={(s) => {
              saveSession(s);
              setNotice(null);
              setSession(s);
              setLive('Signed in.');
            }}
          />
        </main>
      </div>
    );
  }

  return (
    <div className="tandem-support ts-page ts-console">
      {liveRegion}
      <Header>
        <nav aria-label="Console">
          <ul className="ts-nav">
            <li>
              <a href={queueHash()} aria-current={route.view === 'queue' ? 'page' : undefined}>
                Queue
              </a>
            </li>
            <li>
              <a href={REVIEWS_HASH} aria-current={route.view === 'reviews' ? 'page' : undefined}>
                Reviews
              </a>
            </li>
          </ul>
        </nav>
        <div className="ts-operator">
          {/* A pool that signs in by email names its users by an opaque id: people know them by
              their address, as the API's audit trail and assignees do. */}
          {operator ? (
            <span className="ts-muted" data-testid="operator">
              Signed in as {operator.email ?? operator.username}
            </span>
          ) : null}
          <button type="button" className="ts-button ts-button--secondary ts-button--small" onClick={() => signOut(null)}>
            Sign out
          </button>
        </div>
      </Header>
      <main className="ts-main">
        {route.view === 'ticket' ? (
          <TicketView client={client} id={route.id} announce={setLive} />
        ) : route.view === 'reviews' ? (
          <Reviews client={client} announce={setLive} />
        ) : (
          <Queue client={client} filters={route.filters} announce={setLive} />
        )}
      </main>
    </div>
  );
}

function Header({ children }: { children?: ReactNode }) {
  return (
    <header className="ts-page-header">
      <a className="ts-brand" href={queueHash()}>
        <span className="ts-brand-mark" aria-hidden="true">
          T
        </span>
        Tandem operator console
      </a>
      {children}
    </header>
  );
}
