import { useEffect, useRef, useState, type FormEvent } from 'react';
import { channelLabel } from '../format';
import { FormBanner, SendButton } from '../FormControls';
import { useIdPrefix } from '../ids';
import { isBlank } from '../text';
import { useAction } from './hooks';
import { failureText, type OperatorClient, type Preview, type TicketSummary } from './operatorApi';

/** How long typing must pause before the preview is asked for again. */
export const PREVIEW_DEBOUNCE_MS = 400;

export interface ReplyBoxProps {
  client: OperatorClient;
  ticket: TicketSummary;
  announce: (text: string) => void;
  /** The reply was queued: the ticket has a new message. */
  onSent: () => void;
}

type PreviewState = { phase: 'none' } | { phase: 'found'; value: Preview } | { phase: 'error'; message: string };

/** A person's reply, with a live preview of how it will look on the customer's channel. */
export function ReplyBox({ client, ticket, announce, onSent }: ReplyBoxProps) {
  const id = useIdPrefix('tcr');
  const [body, setBody] = useState('');
  const [empty, setEmpty] = useState(false);
  const [preview, setPreview] = useState<PreviewState>({ phase: 'none' });
  const action = useAction(announce);
  const textarea = useRef<HTMLTextAreaElement | null>(null);

  useEffect(() => {
    if (isBlank(body)) {
      setPreview({ phase: 'none' });
      return;
    }
    let stale = false;
    const timer = setTimeout(() => {
      void client.preview(ticket.id, body).then((r) => {
        if (stale) return;
        setPreview(r.kind === 'success' ? { phase: 'found', value: r.data } : { phase: 'error', message: failureText(r) });
      });
    }, PREVIEW_DEBOUNCE_MS);
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [client, ticket.id, body]);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const blank = isBlank(body);
    setEmpty(blank);
    if (blank) {
      announce('Write a reply first.');
      textarea.current?.focus();
      return;
    }
    // The ticket is part of the attempt: the same words on another ticket are another reply.
    const sent = await action.run(
      { action: 'reply', ticket_id: ticket.id, body },
      (key) => client.reply(ticket.id, body, key),
      `Reply queued for the customer's ${channelLabel(ticket.channel)}.`,
    );
    if (sent) {
      setBody('');
      textarea.current?.focus();
      onSent();
    }
  }

  const errorId = `${id}-error`;
  const previewId = `${id}-preview`;
  return (
    <form className="ts-reply" noValidate onSubmit={onSubmit} aria-busy={action.sending || undefined}>
      {action.error ? <FormBanner notice={{ tone: 'error', text: action.error }} testId="reply-banner" /> : null}
      <div className={`ts-field${empty ? ' ts-field--invalid' : ''}`}>
        <label htmlFor={`${id}-body`}>Reply to the customer</label>
        <textarea
          id={`${id}-body`}
          ref={textarea}
          name="body"
          rows={6}
          value={body}
          aria-invalid={empty || undefined}
          aria-describedby={empty ? `${errorId} ${previewId}` : previewId}
          onChange={(e) => {
            setBody(e.target.value);
            setEmpty(false);
            action.edit();
          }}
        />
        {empty ? (
          <p className="ts-field-error" id={errorId}>
            Write a reply first.
          </p>
        ) : null}
        <p className="ts-hint">
          It goes out on the ticket's channel ({channelLabel(ticket.channel)}). From then on the agent stays silent on this
          ticket until you hand it back.
        </p>
      </div>
      <section className="ts-preview" id={previewId} aria-label="Preview" data-testid="preview">
        <h3>Preview: how the customer will see it</h3>
        <PreviewBody preview={preview} />
      </section>
      <div className="ts-actions">
        <SendButton sending={action.sending} label="Send reply" />
      </div>
    </form>
  );
}

function PreviewBody({ preview }: { preview: PreviewState }) {
  if (preview.phase === 'none') return <p className="ts-muted">The preview shows here as you write.</p>;
  if (preview.phase === 'error') return <p className="ts-original-error">No preview: {preview.message}</p>;
  const { channel, subject, parts } = preview.value;
  if (channel === 'whatsapp') {
    return (
      <ol className="ts-bubbles" aria-label={`WhatsApp: ${parts.length} ${parts.length === 1 ? 'message' : 'messages'}`}>
        {parts.map((p, i) => (
          <li key={i} className="ts-bubble">
            <span className="ts-visually-hidden">
              Message {i + 1} of {parts.length}:{' '}
            </span>
            {p}
          </li>
        ))}
      </ol>
    );
  }
  return (
    <div className="ts-preview-doc">
      <p className="ts-muted">{channel === 'email' ? 'Email' : `${channelLabel(channel)} status page`}</p>
      {subject != null ? (
        <p>
          <strong>Subject:</strong> {subject}
        </p>
      ) : null}
      {parts.map((p, i) => (
        <div key={i} className="ts-original-text">
          {p}
        </div>
      ))}
    </div>
  );
}
