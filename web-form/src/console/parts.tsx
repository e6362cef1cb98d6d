// Pieces the console's views share.
import type { ReactNode } from 'react';
import type { Resource } from './hooks';

export interface TextFieldProps {
  id: string;
  name: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  /** A textarea of this many rows; a one-line input without. */
  rows?: number;
  hint?: string;
}

/** A labelled text input or textarea in the form's field style. */
export function TextField({ id, name, label, value, onChange, rows, hint }: TextFieldProps) {
  const hintId = hint ? `${id}-hint` : undefined;
  return (
    <div className="ts-field">
      <label htmlFor={id}>{label}</label>
      {rows ? (
        <textarea id={id} name={name} rows={rows} value={value} aria-describedby={hintId} onChange={(e) => onChange(e.target.value)} />
      ) : (
        <input id={id} name={name} type="text" value={value} aria-describedby={hintId} onChange={(e) => onChange(e.target.value)} />
      )}
      {hint ? (
        <p className="ts-hint" id={hintId}>
          {hint}
        </p>
      ) : null}
    </div>
  );
}

/** A table with column headers; each row of `children` starts with its row header. */
export function DataTable({ columns, caption, testId, children }: { columns: string[]; caption?: string; testId?: string; children: ReactNode }) {
  return (
    <div className="ts-table-wrap">
      <table className="ts-table" data-testid={testId}>
        {caption ? <caption className="ts-visually-hidden">{caption}</caption> : null}
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c} scope="col">
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** A resource still loading (`loading` says what), or why it could not be; nothing once it is there. */
export function ResourceStatus({ resource, loading }: { resource: Resource<unknown>; loading: string }) {
  if (resource.phase === 'loading') {
    return (
      <p className="ts-card ts-loading" aria-busy="true">
        <span className="ts-spinner ts-spinner--dark" aria-hidden="true" /> {loading}
      </p>
    );
  }
  if (resource.phase === 'error') {
    return (
      <div className="ts-banner ts-banner--error" role="alert">
        <p>{resource.message}</p>
      </div>
    );
  }
  return null;
}
