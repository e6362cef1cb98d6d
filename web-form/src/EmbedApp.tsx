import { useState } from 'react';
import { StatusView } from './StatusView';
import { SupportForm } from './SupportForm';

type View = { view: 'form' } | { view: 'status'; id: string };

/** Embedded widget: the same form and status view, switched in place (no URL changes). */
export function EmbedApp({ apiBase }: { apiBase: string }) {
  const [view, setView] = useState<View>({ view: 'form' });
  return (
    <div className="tandem-support ts-embed">
      <div className="ts-tabs" role="group" aria-label="Support">
        <button
          type="button"
          className="ts-tab"
          aria-pressed={view.view === 'form'}
          onClick={() => setView({ view: 'form' })}
        >
          Contact support
        </button>
        <button
          type="button"
          className="ts-tab"
          aria-pressed={view.view === 'status'}
          onClick={() => setView({ view: 'status', id: view.view === 'status' ? view.id : '' })}
        >
          Check ticket status
        </button>
      </div>
      {/* Keep the form mounted (hidden) so its state survives a look at the status view. */}
      <div hidden={view.view !== 'form'}>
        <SupportForm
          apiBase={apiBase}
          renderStatusAction={(id) => (
            <button
              type="button"
              className="ts-button"
              data-testid="status-link"
              onClick={() => setView({ view: 'status', id })}
            >
              Check ticket status
            </button>
          )}
        />
      </div>
      {view.view === 'status' ? (
        <StatusView apiBase={apiBase} ticketId={view.id} onLookup={(id) => setView({ view: 'status', id })} />
      ) : null}
    </div>
  );
}
