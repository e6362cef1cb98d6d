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

/** A message textarea with its inline error and its "n / max" counter (the form's and a follow-up's). */
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
