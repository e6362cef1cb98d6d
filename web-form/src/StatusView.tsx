import { useEffect, useRef, useState, type FormEvent } from 'react';
import { fetchTicket, POLL_INTERVAL_MS, shouldPollAgain, sortMessages, type Ticket } from './api';
import {
  categoryLabel,
  channelLabel,
  channelsText,
  directionLabel,
  escalationNote,
  formatTimestamp,
  priorityLabel,
  statusLabel,
  ticketStatusText,
} from './format';
import { FollowUpForm } from './FollowUpForm';
import { MessageBody } from './MessageBody';
import { useIdPrefix } from './ids';
import { OriginalMessage } from './OriginalMessage';
import { isValidTicketId } from './validation';

const TICKET_ID_ERROR = 'Please enter a valid ticket ID: "tkt_" followed by 32 characters (0–9, a–f).';

export interface StatusViewProps {
  apiBase: string;
  /** The ticket being shown ('' for none). */
  ticketId: string;
  /** Called with a well-formed id when the user looks one up. */
  onLookup: (id: string) => void;
}

type Load =
  | { phase: 'idle' }
  | { phase: 'loading' }
  | { phase: 'found'; ticket: Ticket }
  | { phase: 'not_found' }
  | { phase: 'error'; message: string };

type Polling = 'off' | 'on' | 'stopped';

export function StatusView({ apiBase, ticketId, onLookup }: StatusViewProps) {
  const id = useIdPrefix('tss');
  const [input, setInput] = useState(ticketId);
  const [inputError, setInputError] = useState<string | undefined>();
  const [load, setLoad] = useState<Load>({ phase: 'idle' });
  const [polling, setPolling] = useState<Polling>('off');
  const [live, setLive] = useState('');
  const [refreshKey, setRefreshKey] = useState(0);
  const inputRef = useRef<HTMLInputElement | null>(null);
  const lastTicketId = useRef<string>('');

  useEffect(() => {
    setInput(ticketId);
  }, [ticketId]);

  useEffect(() => {
    setPolling('off');
    if (!ticketId) {
      setLoad({ phase: 'idle' });
      return;
    }
    if (!isValidTicketId(ticketId)) {
      setLoad({ phase: 'idle' });
      setInputError(TICKET_ID_ERROR);
      return;
    }
    setInputError(undefined);
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ctrl = new AbortController();
    const started = Date.now();
    let lastStatus: string | null = null;
    let lastCount = -1;

    if (lastTicketId.current !== ticketId) setLoad({ phase: 'loading' });
    lastTicketId.current = ticketId;

    const schedule = () => {
      if (shouldPollAgain('open', Date.now() - started)) {
        setPolling('on');
        timer = setTimeout(() => void tick(false), POLL_INTERVAL_MS);
      } else {
        setPolling('stopped');
        setLive('Stopped checking automatically. Use "Check again" to refresh.');
      }
    };

    const tick = async (first: boolean) => {
      const r = await fetchTicket(apiBase, ticketId, { signal: ctrl.signal });
      if (cancelled) return;
      if (r.kind === 'found') {
        const t = r.ticket;
        setLoad({ phase: 'found', ticket: t });
        const count = t.messages.length;
        if (lastStatus === null) {
          setLive(`Ticket status: ${ticketStatusText(t)}.`);
        } else if (t.status !== lastStatus) {
          const reply = t.messages.some((m) => m.direction === 'outbound') ? ' New reply from support.' : '';
          setLive(`Status updated: ${ticketStatusText(t)}.${reply}`);
        } else if (count > lastCount) {
          setLive('New message on your ticket.');
        }
        lastStatus = t.status;
        lastCount = count;
        if (t.status === 'open') schedule();
        else setPolling('off');
        return;
      }
      if (!first && lastStatus !== null) {
        // A failed poll keeps the ticket on screen and tries again.
        schedule();
        return;
      }
      if (r.kind === 'not_found') {
        setLoad({ phase: 'not_found' });
        setLive('No ticket with that id.');
      } else {
        const message =
          r.kind === 'rejected' ? r.message : "We couldn't reach support. Please try again in a moment.";
        setLoad({ phase: 'error', message });
        setLive(message);
      }
    };

    void tick(true);
    return () => {
      cancelled = true;
      if (timer) clearTimeout(timer);
      ctrl.abort();
    };
  }, [apiBase, ticketId, refreshKey]);

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    const value = input.trim().toLowerCase();
    if (!isValidTicketId(value)) {
      setInputError(TICKET_ID_ERROR);
      setLive('1 field needs attention');
      inputRef.current?.focus();
      return;
    }
    setInputError(undefined);
    if (value === ticketId) setRefreshKey((k) => k + 1);
    else onLookup(value);
  }

  const inputId = `${id}-ticket`;
  const errorId = `${id}-ticket-error`;
  const hintId = `${id}-ticket-hint`;

  return (
    <div className="ts-status">
      <div className="ts-visually-hidden" aria-live="polite" aria-atomic="true" data-testid="status-live">
        {live}
      </div>
      <form className="ts-card ts-lookup" noValidate onSubmit={onSubmit} aria-labelledby={`${id}-title`}>
        <h2 id={`${id}-title`} className="ts-card-title">
          Check ticket status
        </h2>
        <div className={`ts-field${inputError ? ' ts-field--invalid' : ''}`}>
          <label htmlFor={inputId}>Ticket ID</label>
          <div className="ts-inline">
            <input
              id={inputId}
              ref={inputRef}
              name="ticket_id"
              type="text"
              autoComplete="off"
              spellCheck={false}
              placeholder="tkt_…"
              value={input}
              aria-invalid={inputError ? true : undefined}
              aria-describedby={inputError ? `${errorId} ${hintId}` : hintId}
              onChange={(e) => setInput(e.target.value)}
            />
            <button type="submit" className="ts-button">
              Check status
            </button>
          </div>
          {inputError ? (
            <p className="ts-field-error" id={errorId}>
              {inputError}
            </p>
          ) : null}
          <p className="ts-hint" id={hintId}>
            You'll find it in the confirmation after sending a request.
          </p>
        </div>
      </form>

      {load.phase === 'loading' ? (
        <div className="ts-card ts-loading" aria-busy="true">
          <span className="ts-spinner ts-spinner--dark" aria-hidden="true" /> Loading ticket…
        </div>
      ) : null}
      {load.phase === 'not_found' ? (
        <div className="ts-banner ts-banner--error" data-testid="not-found">
          <p>No ticket with that id. Please check the ID and try again.</p>
        </div>
      ) : null}
      {load.phase === 'error' ? (
        <div className="ts-banner ts-banner--error">
          <p>{load.message}</p>
        </div>
      ) : null}
      {load.phase === 'found' ? (
        <TicketDetails
          apiBase={apiBase}
          ticket={load.ticket}
          polling={polling}
          onRefresh={() => setRefreshKey((k) => k + 1)}
          onAnnounce={setLive}
        />
      ) : null}
    </div>
  );
}

function TicketDetails({
  apiBase,
  ticket,
  polling,
  onRefresh,
  onAnnounce,
}: {
  apiBase: string;
  ticket: Ticket;
  polling: Polling;
  /** Loads the ticket again and polls while it is open (after "Check again", or a follow-up). */
  onRefresh: () => void;
  onAnnounce: (text: string) => void;
}) {
  const messages = sortMessages(ticket.messages);
  return (
    <article className="ts-card ts-ticket" data-testid="ticket" aria-labelledby={`ticket-${ticket.ticket_id}`}>
      <header className="ts-ticket-header">
        <div>
          <h3 id={`ticket-${ticket.ticket_id}`}>{ticket.subject}</h3>
          <p className="ts-muted ts-mono">{ticket.ticket_id}</p>
        </div>
        <span className={`ts-badge ts-badge--${ticket.status}`} data-testid="ticket-status">
          {statusLabel(ticket.status)}
        </span>
      </header>
      <dl className="ts-meta">
        <div>
          <dt>Category</dt>
          <dd>{categoryLabel(ticket.category)}</dd>
        </div>
        <div>
          <dt>Priority</dt>
          <dd>{priorityLabel(ticket.priority)}</dd>
        </div>
        <div>
          <dt>Opened</dt>
          <dd>
            <time dateTime={ticket.created_at}>{formatTimestamp(ticket.created_at)}</time>
          </dd>
        </div>
        <div>
          <dt>Last update</dt>
          <dd>
            <time dateTime={ticket.updated_at}>{formatTimestamp(ticket.updated_at)}</time>
          </dd>
        </div>
        {channelsText(ticket.customer_channels) ? (
          <div>
            <dt>We know you on</dt>
            <dd data-testid="customer-channels">{channelsText(ticket.customer_channels)}</dd>
          </div>
        ) : null}
      </dl>

      {ticket.status === 'escalated' ? (
        <div className="ts-banner ts-banner--info" data-testid="escalated-note">
          <p>{escalationNote(ticket.escalation_reason)}</p>
        </div>
      ) : null}

      <h4 className="ts-thread-title">Conversation</h4>
      {messages.length === 0 ? (
        <p className="ts-muted">No messages yet.</p>
      ) : (
        <ol className="ts-thread" data-testid="thread">
          {messages.map((m, i) => {
            const outbound = m.direction === 'outbound';
            return (
              <li key={m.message_id ?? i} className={`ts-msg ${outbound ? 'ts-msg--agent' : 'ts-msg--customer'}`}>
                <div className="ts-msg-head">
                  <span className="ts-msg-author">{directionLabel(m.direction)}</span>
                  <span className="ts-msg-meta">
                    {channelLabel(m.channel)} · <time dateTime={m.created_at}>{formatTimestamp(m.created_at)}</time>
                  </span>
                </div>
                <MessageBody body={m.body} />
                {m.has_original && m.message_id ? (
                  <OriginalMessage
                    apiBase={apiBase}
                    ticketId={ticket.ticket_id}
                    messageId={m.message_id}
                    onAnnounce={onAnnounce}
                  />
                ) : null}
              </li>
            );
          })}
        </ol>
      )}

      {polling === 'on' ? (
        <p className="ts-muted ts-polling">
          <span className="ts-pulse" aria-hidden="true" /> Waiting for a reply — this page updates automatically.
        </p>
      ) : null}
      {polling === 'stopped' ? (
        <p className="ts-muted ts-polling">
          Still waiting for a reply.{' '}
          <button type="button" className="ts-link-button" onClick={onRefresh}>
            Check again
          </button>
        </p>
      ) : null}

      <FollowUpForm key={ticket.ticket_id} apiBase={apiBase} ticketId={ticket.ticket_id} onSent={onRefresh} />
    </article>
  );
}
