import { slaLabel } from './labels';

/** The SLA state in words ("At risk"); its colour only repeats them. */
export function SlaBadge({ state }: { state: string }) {
  return (
    <span className={`ts-badge ts-sla--${state}`} data-testid="sla-badge">
      {slaLabel(state)}
    </span>
  );
}
