// The pieces the support form and the follow-up box share.
import type { Ref } from 'react';
import { counterText } from './format';
import { rules } from './rules';
import { charCount } from './validation';

export interface MessageFieldProps {
  /** The textarea's id; its error and counter ids are made from it. */
  id: string;
  label: string;
  value: string;
  error: string | undefined;
  rows: number;
  onChange: (value: string) => void;
  onBlur: () => void;
  textareaRef: Ref<HTMLTextAreaElement>;
  counterTestId: string;
}

/** A message textarea with its inline error and its "n / max" counter. */
export function MessageField({ id, label, value, error, rows, onChange, onBlur, textareaRef, counterTestId }: MessageFieldProps) {
  const errorId = `${id}-error`;
  const counterId = `${id}-counter`;
  const overLimit = charCount(value) > rules.message.max;
  return (
    <div className={`ts-field${error ? ' ts-field--invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      <textarea
        id={id}
        ref={textareaRef}
        name="message"
        rows={rows}
        value={value}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${errorId} ${counterId}` : counterId}
        onChange={(e) => onChange(e.target.value)}
        onBlur={onBlur}
      />
      <div className="ts-field-footer">
        {error ? (
          <p className="ts-field-error" id={errorId}>
            {error}
          </p>
        ) : (
          <span />
        )}
        <span id={counterId} className={`ts-counter${overLimit ? ' ts-counter--over' : ''}`} data-testid={counterTestId}>
          {counterText(value, rules.message.max)}
        </span>
      </div>
    </div>
  );
}

export type Notice = { tone: 'error' | 'info'; text: string; details?: string[] };

/** A form's message about the whole request (a refusal, the network), with the server's details. */
export function FormBanner({ notice, testId }: { notice: Notice; testId: string }) {
  return (
    <div className={`ts-banner ts-banner--${notice.tone}`} data-testid={testId}>
      <p>{notice.text}</p>
      {notice.details?.length ? (
        <ul>
          {notice.details.map((d, i) => (
            <li key={i}>{d}</li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

/** The submit button: disabled and "Sending…" while a send is under way. */
export function SendButton({ sending, label }: { sending: boolean; label: string }) {
  return (
    <button type="submit" className="ts-button" disabled={sending} aria-disabled={sending || undefined}>
      {sending ? (
        <>
          <span className="ts-spinner" aria-hidden="true" />
          Sending…
        </>
      ) : (
        label
      )}
    </button>
  );
}
