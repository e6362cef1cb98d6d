import { useEffect, useRef, useState, type FormEvent } from 'react';
import { channelLabel, formatTimestamp, humanize } from '../format';
import { useIdPrefix } from '../ids';
import { useFocusOn, useResource } from './hooks';
import { ageText, queueSummary, reasonLabel, slaLabel } from './labels';
import type { OperatorClient } from './operatorApi';
import {
  CHANNELS,
  isMinutes,
  NO_FILTERS,
  queueHash,
  REASONS,
  SLA_STATES,
  STATUSES,
  ticketHash,
  type QueueFilters,
} from './routes';
import { DataTable, ResourceStatus } from './parts';
import { SlaBadge } from './SlaBadge';

export interface QueueProps {
  client: OperatorClient;
  /** The filters of the route (#/?status=…): what is shown. */
  filters: QueueFilters;
  announce: (text: string) => void;
}

const MINUTES_ERROR = 'Enter whole minutes (0 or more), or leave it empty.';

/** The support queue: filters, the SLA counts and the tickets, newest activity first. */
export function Queue({ client, filters, announce }: QueueProps) {
  const id = useIdPrefix('tcq');
  const [form, setForm] = useState<QueueFilters>(filters);
  const [minutesError, setMinutesError] = useState(false);
  const heading = useRef<HTMLHeadingElement | null>(null);
  const minutesInput = useRef<HTMLInputElement | null>(null);
  const [queue, reload] = useResource((signal) => client.tickets(filters, signal), [client, queueHash(filters)]);
  useFocusOn(heading, 'queue');

  useEffect(() => setForm(filters), [filters]);
  useEffect(() => {
    if (queue.phase === 'found') announce(queueSummary(queue.value));
    else if (queue.phase === 'error') announce(queue.message);
  }, [queue, announce]);

  function show(next: QueueFilters) {
    const hash = queueHash(next);
    if (window.location.hash === hash || (hash === '#/' && !window.location.hash)) reload();
    else window.location.hash = hash;
  }

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    const bad = form.older_than.trim() !== '' && !isMinutes(form.older_than);
    setMinutesError(bad);
    if (bad) {
      announce(MINUTES_ERROR);
      minutesInput.current?.focus();
      return;
    }
    show(form);
  }

  const select = (name: Exclude<keyof QueueFilters, 'older_than'>, label: string, options: readonly string[], text: (v: string) => string) => (
    <div className="ts-field">
      <label htmlFor={`${id}-${name}`}>{label}</label>
      <select id={`${id}-${name}`} name={name} value={form[name]} onChange={(e) => setForm({ ...form, [name]: e.target.value })}>
        <option value="">Any</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {text(o)}
          </option>
        ))}
      </select>
    </div>
  );

  return (
    <div className="ts-queue">
      <h1 ref={heading} tabIndex={-1} className="ts-view-title">
        Queue
      </h1>
      <form className="ts-card ts-filters" noValidate onSubmit={onSubmit} aria-label="Filters">
        {select('status', 'Status', STATUSES, humanize)}
        {select('channel', 'Channel', CHANNELS, channelLabel)}
        {select('reason', 'Escalation reason', REASONS, reasonLabel)}
        {select('sla', 'SLA', SLA_STATES, slaLabel)}
        <div className={`ts-field${minutesError ? ' ts-field--invalid' : ''}`}>
          <label htmlFor={`${id}-older`}>Older than (minutes)</label>
          <input
            id={`${id}-older`}
            ref={minutesInput}
            name="older_than"
            type="text"
            inputMode="numeric"
            value={form.older_than}
            aria-invalid={minutesError || undefined}
            aria-describedby={minutesError ? `${id}-older-error` : undefined}
            onChange={(e) => setForm({ ...form, older_than: e.target.value })}
          />
          {minutesError ? (
            <p className="ts-field-error" id={`${id}-older-error`}>
              {MINUTES_ERROR}
            </p>
          ) : null}
        </div>
        <div className="ts-actions">
          <button type="submit" className="ts-button">
            Apply filters
          </button>
          <button type="button" className="ts-button ts-button--secondary" onClick={() => show(NO_FILTERS)}>
            Clear filters
          </button>
        </div>
      </form>

      <ResourceStatus resource={queue} loading="Loading the queue…" />
      {queue.phase === 'found' ? (
        <section className="ts-card" aria-labelledby={`${id}-tickets`}>
          <div className="ts-section-head">
            <h2 id={`${id}-tickets`}>Tickets</h2>
            <p className="ts-sla-counts" data-testid="sla-counts">
              <span className="ts-badge ts-sla--at_risk">At risk: {queue.value.sla_counts.at_risk}</span>
              <span className="ts-badge ts-sla--breached">Breached: {queue.value.sla_counts.breached}</span>
            </p>
            <button type="button" className="ts-button ts-button--secondary ts-button--small" onClick={reload}>
              Refresh
            </button>
          </div>
          {queue.value.tickets.length === 0 ? (
            <p className="ts-muted">No tickets match these filters.</p>
          ) : (
            <DataTable columns={['Ticket', 'Status', 'SLA', 'Age', 'Channel', 'Reason', 'Assignee']} caption={queueSummary(queue.value)}>
              {queue.value.tickets.map((t) => (
                <tr key={t.id}>
                  <th scope="row">
                    <a href={ticketHash(t.id)}>{t.subject}</a>
                    <span className="ts-muted ts-mono">{t.id}</span>
                  </th>
                  <td>{humanize(t.status)}</td>
                  <td>
                    <SlaBadge state={t.sla.state} />
                  </td>
                  <td className="ts-nowrap">
                    <time dateTime={t.created_at} title={formatTimestamp(t.created_at)}>
                      {ageText(t.age_minutes)}
                    </time>
                  </td>
                  <td>{channelLabel(t.channel)}</td>
                  <td>{reasonLabel(t.escalation_reason)}</td>
                  <td>{t.assignee ?? 'Unassigned'}</td>
                </tr>
              ))}
            </DataTable>
          )}
        </section>
      ) : null}
    </div>
  );
}
