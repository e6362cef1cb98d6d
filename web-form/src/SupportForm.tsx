import { useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { sendFailureText, submitTicket, type SubmitSuccess } from './api';
import { clearDraft, loadDraft, saveDraft } from './draft';
import { CATEGORY_LABELS, errorSummary, PRIORITY_LABELS } from './format';
import { ATTEMPT_KEY } from './idempotency';
import { useIdPrefix } from './ids';
import { FormBanner, MessageField, SendButton, type Notice } from './FormControls';
import { rules } from './rules';
import { useSendAttempt } from './useSendAttempt';
import {
  emptyValues,
  errorCount,
  firstInvalidField,
  toPayload,
  validate,
  validateField,
  type FieldErrors,
  type FieldName,
  type FormValues,
} from './validation';

export interface SupportFormProps {
  apiBase: string;
  /** Renders the "check status" action of the success panel (link or button). */
  renderStatusAction: (ticketId: string) => ReactNode;
}

type FieldElement = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

export function SupportForm({ apiBase, renderStatusAction }: SupportFormProps) {
  const id = useIdPrefix('tsf');
  const [values, setValues] = useState<FormValues>(() => loadDraft());
  const [errors, setErrors] = useState<FieldErrors>({});
  const [attempted, setAttempted] = useState(false);
  const [banner, setBanner] = useState<Notice | null>(null);
  const [live, setLive] = useState('');
  const [success, setSuccess] = useState<SubmitSuccess | null>(null);
  // The submission attempt whose Idempotency-Key a retry reuses (kept with the draft).
  const sender = useSendAttempt(ATTEMPT_KEY);
  const refs = useRef<Partial<Record<FieldName, FieldElement | null>>>({});
  const successHeading = useRef<HTMLHeadingElement | null>(null);

  useEffect(() => {
    if (!success) saveDraft(values);
  }, [values, success]);

  useEffect(() => {
    if (success) successHeading.current?.focus();
  }, [success]);

  const fieldId = (f: FieldName) => `${id}-${f}`;
  const errorId = (f: FieldName) => `${id}-${f}-error`;

  function focusField(f: FieldName | undefined) {
    if (!f) return;
    const el = refs.current[f];
    if (el) {
      el.focus();
      if ('scrollIntoView' in el) el.scrollIntoView({ block: 'center', behavior: 'smooth' });
    }
  }

  function update(f: FieldName, v: string) {
    const next = { ...values, [f]: v };
    setValues(next);
    // An edit ends the attempt: the next submit is a new request with a new key.
    sender.edit();
    // After the first submit, clear (or refresh) an error as soon as it is fixed.
    if (attempted && errors[f]) {
      setErrors((prev) => ({ ...prev, [f]: validateField(f, next) }));
    }
  }

  function onBlur(f: FieldName) {
    if (!attempted) return;
    setErrors((prev) => ({ ...prev, [f]: validateField(f, values) }));
  }

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (sender.isSending()) return;
    setAttempted(true);
    setBanner(null);
    const found = validate(values);
    setErrors(found);
    const n = errorCount(found);
    if (n > 0) {
      setLive(errorSummary(n));
      focusField(firstInvalidField(found));
      return;
    }

    setLive('Sending your request…');
    const payload = toPayload(values);
    // The same key as the last try when nothing changed since (a retry), else a new one.
    const result = await sender.send(payload, (key) => submitTicket(apiBase, payload, { idempotencyKey: key }));
    if (!result) return;

    switch (result.kind) {
      case 'success':
        clearDraft();
        setSuccess(result.data);
        setLive(`Request sent. Your ticket id is ${result.data.ticket_id}.`);
        return;
      case 'validation': {
        setErrors(result.fieldErrors);
        const count = errorCount(result.fieldErrors);
        if (result.otherErrors.length > 0) {
          setBanner({ tone: 'error', text: 'Please check the form.', details: result.otherErrors });
        }
        setLive(count > 0 ? errorSummary(count) : result.otherErrors.join(' '));
        focusField(firstInvalidField(result.fieldErrors));
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

  function startOver() {
    sender.edit();
    clearDraft();
    setValues(emptyValues());
    setErrors({});
    setAttempted(false);
    setBanner(null);
    setSuccess(null);
    setLive('');
  }

  function common(f: FieldName) {
    return {
      id: fieldId(f),
      name: f,
      value: values[f],
      'aria-invalid': errors[f] ? (true as const) : undefined,
      'aria-describedby': errors[f] ? errorId(f) : undefined,
      onBlur: () => onBlur(f),
      ref: (el: FieldElement | null) => {
        refs.current[f] = el;
      },
    };
  }

  function errorText(f: FieldName) {
    return errors[f] ? (
      <p className="ts-field-error" id={errorId(f)}>
        {errors[f]}
      </p>
    ) : null;
  }

  const liveRegion = (
    <div className="ts-visually-hidden" aria-live="polite" aria-atomic="true" data-testid="live">
      {live}
    </div>
  );

  // The live region stays mounted across the form → success switch so that
  // screen readers reliably announce its changes.
  return (
    <div className="ts-form-wrap">
      {liveRegion}
      {success ? renderSuccess(success) : renderForm()}
    </div>
  );

  function renderSuccess(success: SubmitSuccess) {
    return (
      <section className="ts-card ts-success" aria-labelledby={`${id}-success-title`}>
        <div className="ts-success-icon" aria-hidden="true">
          ✓
        </div>
        <h2 id={`${id}-success-title`} ref={successHeading} tabIndex={-1}>
          Thanks — we've got your request
        </h2>
        {success.message ? <p className="ts-success-message">{success.message}</p> : null}
        <dl className="ts-facts">
          <div>
            <dt>Ticket ID</dt>
            <dd>
              <code data-testid="ticket-id">{success.ticket_id}</code>
            </dd>
          </div>
          {success.estimated_response_time ? (
            <div>
              <dt>Expected response</dt>
              <dd data-testid="estimate">{success.estimated_response_time}</dd>
            </div>
          ) : null}
        </dl>
        <p className="ts-muted">Keep the ticket ID to check on your request later.</p>
        <div className="ts-actions">
          {renderStatusAction(success.ticket_id)}
          <button type="button" className="ts-button ts-button--secondary" onClick={startOver}>
            Send another request
          </button>
        </div>
      </section>
    );
  }

  function renderForm() {
    return (
      <form
        className="ts-card ts-form"
        noValidate
        onSubmit={onSubmit}
        aria-busy={sender.sending ? true : undefined}
        aria-labelledby={`${id}-title`}
      >
        <h2 id={`${id}-title`} className="ts-card-title">
          Contact support
        </h2>
        <p className="ts-muted ts-intro">
          Tell us what's going on and we'll get back to you by email. All fields except priority are required.
        </p>

        {banner ? <FormBanner notice={banner} testId="banner" /> : null}

        <div className="ts-row">
          <div className={`ts-field${errors.name ? ' ts-field--invalid' : ''}`}>
            <label htmlFor={fieldId('name')}>Your name</label>
            <input
              {...common('name')}
              type="text"
              autoComplete="name"
              onChange={(e) => update('name', e.target.value)}
            />
            {errorText('name')}
          </div>
          <div className={`ts-field${errors.email ? ' ts-field--invalid' : ''}`}>
            <label htmlFor={fieldId('email')}>Email</label>
            <input
              {...common('email')}
              type="email"
              inputMode="email"
              autoComplete="email"
              spellCheck={false}
              onChange={(e) => update('email', e.target.value)}
            />
            {errorText('email')}
          </div>
        </div>

        <div className={`ts-field${errors.subject ? ' ts-field--invalid' : ''}`}>
          <label htmlFor={fieldId('subject')}>Subject</label>
          <input {...common('subject')} type="text" onChange={(e) => update('subject', e.target.value)} />
          {errorText('subject')}
        </div>

        <div className="ts-row">
          <div className={`ts-field${errors.category ? ' ts-field--invalid' : ''}`}>
            <label htmlFor={fieldId('category')}>Category</label>
            <select {...common('category')} onChange={(e) => update('category', e.target.value)}>
              <option value="">Choose a category…</option>
              {rules.categories.map((c) => (
                <option key={c} value={c}>
                  {CATEGORY_LABELS[c] ?? c}
                </option>
              ))}
            </select>
            {errorText('category')}
          </div>
          <div className={`ts-field${errors.priority ? ' ts-field--invalid' : ''}`}>
            <label htmlFor={fieldId('priority')}>Priority</label>
            <select {...common('priority')} onChange={(e) => update('priority', e.target.value)}>
              {rules.priorities.map((p) => (
                <option key={p} value={p}>
                  {PRIORITY_LABELS[p] ?? p}
                </option>
              ))}
            </select>
            {errorText('priority')}
          </div>
        </div>

        <MessageField
          id={fieldId('message')}
          label="Message"
          value={values.message}
          error={errors.message}
          rows={7}
          onChange={(v) => update('message', v)}
          onBlur={() => onBlur('message')}
          textareaRef={(el) => {
            refs.current.message = el;
          }}
          counterTestId="counter"
        />

        <div className="ts-actions">
          <SendButton sending={sender.sending} label="Send request" />
        </div>
      </form>
    );
  }
}
