import { useEffect, useState } from 'react';
import { parseHash, statusHash } from './config';
import { StatusView } from './StatusView';
import { SupportForm } from './SupportForm';

/** Standalone page: hash routing between the form (#/) and status (#/status/<id>). */
export function App({ apiBase }: { apiBase: string }) {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));

  useEffect(() => {
    const onHash = () => setRoute(parseHash(window.location.hash));
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    document.title = route.view === 'status' ? 'Ticket status — Tandem Support' : 'Contact support — Tandem Support';
  }, [route.view]);

  return (
    <div className="tandem-support ts-page">
      <header className="ts-page-header">
        <a className="ts-brand" href="#/">
          <span className="ts-brand-mark" aria-hidden="true">
            T
          </span>
          Tandem Support
        </a>
        <nav aria-label="Support">
          <ul className="ts-nav">
            <li>
              <a href="#/" aria-current={route.view === 'form' ? 'page' : undefined}>
                Contact support
              </a>
            </li>
            <li>
              <a href="#/status" aria-current={route.view === 'status' ? 'page' : undefined}>
                Check ticket status
              </a>
            </li>
          </ul>
        </nav>
      </header>
      <main className="ts-main">
        {route.view === 'status' ? (
          <StatusView
            apiBase={apiBase}
            ticketId={route.id}
            onLookup={(id) => {
              window.location.hash = statusHash(id);
            }}
          />
        ) : (
          <SupportForm
            apiBase={apiBase}
            renderStatusAction={(id) => (
              <a className="ts-button" href={statusHash(id)} data-testid="status-link">
                Check ticket status
              </a>
            )}
          />
        )}
      </main>
    </div>
  );
}
