import { useRef, useState, type FormEvent } from 'react';
import { sendFailureText, sendFollowUp } from './api';
import { loadFollowUpDraft, saveFollowUpDraft } from './draft';
import { errorSummary } from './format';
import { FormBanner, MessageField, SendButton, type Notice } from './FormControls';
import { FOLLOW_UP_ATTEMPT_KEY } from './idempotency';
import { useIdPrefix } from './ids';
import { useSendAttempt } from './useSendAttempt';
import { toFollowUpPayload, validateMessage } from './validation';

const FOLLOW_UP_SENT = 'Message sent.';

export interface FollowUpFormProps {
  apiBase: string;
  ticketId: string;
  /** The server took the message: the ticket is open again and will be answered. */
  onSent: () => void;
}

/** The box under a ticket's conversation where the customer writes again. */
export function FollowUpForm({ apiBase, ticketId, onSent }: FollowUpFormProps) {
  const id = useIdPrefix('tfu');
  const [message, setMessage] = useState(() => loadFollowUpDraft(ticketId));
  const [error, setError] = useState<string | undefined>();
  const [attempted, setAttempted] = useState(false);
  const [banner, setBanner] = useState<Notice | null>(null);
  // The server's thanks for the last message, shown until the next edit.
  const [confirmation, setConfirmation] = useState('');
  const [live, setLive] = useState('');
  // The attempt whose Idempotency-Key a retry reuses (kept with the draft, across a reload).
  const sender = useSendAttempt(FOLLOW_UP_ATTEMPT_KEY);
  const textarea = useRef<HTMLTextAreaElement | null>(null);

  function update(value: string) {
    setMessage(value);
    saveFollowUpDraft(ticketId, value);
    sender.edit();
    setConfirmation('');
    // After the first send, clear (or refresh) the error as soon as it is fixed, like the form.
    if (attempted && error) setError(validateMessage(value));
  }

  function onBlur() {
    if (attempted) setError(validateMessage(message));
  }

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (sender.isSending()) return;
    setAttempted(true);
    setBanner(null);
    const found = validateMessage(message);
    setError(found);
    if (found) {
      setLive(errorSummary(1));
      textarea.current?.focus();
      return;
    }

    setLive('Sending your message…');
    const payload = toFollowUpPayload(message);
    // The ticket is part of the attempt: the same text on another ticket is another message.
    const result = await sender.send({ ticket_id: ticketId, ...payload }, (key) =>
      sendFollowUp(apiBase, ticketId, payload, { idempotencyKey: key }),
    );
    if (!result) return;

    switch (result.kind) {
      case 'success':
        setMessage('');
        saveFollowUpDraft(ticketId, '');
        setAttempted(false);
        setError(undefined);
        setConfirmation(result.data.message || FOLLOW_UP_SENT);
        setLive(FOLLOW_UP_SENT);
        textarea.current?.focus();
        onSent();
        return;
      case 'validation': {
        const fieldError = result.fieldErrors.message;
        setError(fieldError);
        if (result.otherErrors.length > 0) {
          setBanner({ tone: 'error', text: 'Please check your message.', details: result.otherErrors });
        }
        setLive(fieldError ? errorSummary(1) : result.otherErrors.join(' '));
        if (fieldError) textarea.current?.focus();
        return;
      }
      case 'rejected':
      case 'unreachable': {
        const text = sendFailureText(result);
        setBanner({ tone: 'error', text });
        setLive(text);
        return;
      }
    }
  }

  return (
    <form
      className="ts-follow-up"
      noValidate
      onSubmit={onSubmit}
      aria-busy={sender.sending ? true : undefined}
      data-testid="follow-up"
    >
      <div className="ts-visually-hidden" aria-live="polite" aria-atomic="true" data-testid="follow-up-live">
        {live}
      </div>
      {banner ? <FormBanner notice={banner} testId="follow-up-banner" /> : null}
      <MessageField
        id={`${id}-message`}
        label="Add a message"
        value={message}
        error={error}
        rows={4}
        onChange={update}
        onBlur={onBlur}
        textareaRef={textarea}
        counterTestId="follow-up-counter"
      />
      <div className="ts-actions">
        <SendButton sending={sender.sending} label="Send message" />
        {confirmation ? (
          <p className="ts-muted ts-follow-up-sent" data-testid="follow-up-sent">
            {confirmation}
          </p>
        ) : null}
      </div>
    </form>
  );
}
