import { useRef, useState } from 'react';
import { fetchOriginal } from './api';
import { useIdPrefix } from './ids';

const ORIGINAL_FAILED = "We couldn't load the original message.";

type Original = { phase: 'idle' } | { phase: 'loading' } | { phase: 'loaded'; text: string } | { phase: 'failed' };

export interface OriginalMessageProps {
  apiBase: string;
  ticketId: string;
  messageId: string;
  /** Puts a sentence in the page's live region. */
  onAnnounce: (text: string) => void;
}

/**
 * "Show original" under an email message whose text was trimmed for the agent (quoted
 * history, signature): the full text as received, fetched on first use, shown as plain text.
 */
export function OriginalMessage({ apiBase, ticketId, messageId, onAnnounce }: OriginalMessageProps) {
  const id = useIdPrefix('tso');
  const [open, setOpen] = useState(false);
  const [original, setOriginal] = useState<Original>({ phase: 'idle' });
  const toggleButton = useRef<HTMLButtonElement | null>(null);

  async function load() {
    setOriginal({ phase: 'loading' });
    const r = await fetchOriginal(apiBase, ticketId, messageId);
    if (r.kind === 'found') {
      setOriginal({ phase: 'loaded', text: r.value });
    } else {
      setOriginal({ phase: 'failed' });
      onAnnounce(ORIGINAL_FAILED);
    }
  }

  function toggle() {
    setOpen(!open);
    // Fetched once; showing it again uses the text already here.
    if (!open && (original.phase === 'idle' || original.phase === 'failed')) void load();
  }

  function retry() {
    // "Try again" gives way to the text: keep the keyboard where it was, on the toggle.
    toggleButton.current?.focus();
    void load();
  }

  const regionId = `${id}-original`;
  return (
    <div className="ts-original">
      <button
        type="button"
        ref={toggleButton}
        className="ts-link-button"
        aria-expanded={open}
        aria-controls={regionId}
        onClick={toggle}
      >
        {open ? 'Hide original' : 'Show original'}
      </button>
      <div id={regionId} hidden={!open} data-testid="original">
        {original.phase === 'loading' ? <p className="ts-muted">Loading the original…</p> : null}
        {original.phase === 'failed' ? (
          <p className="ts-original-error">
            {ORIGINAL_FAILED}{' '}
            <button type="button" className="ts-link-button" onClick={retry}>
              Try again
            </button>
          </p>
        ) : null}
        {original.phase === 'loaded' ? (
          // Focusable so that a keyboard can scroll a long original.
          <pre className="ts-original-text" tabIndex={0} aria-label="Original message" data-testid="original-text">
            {original.text}
          </pre>
        ) : null}
      </div>
    </div>
  );
}
