import { useRef, type ReactNode } from 'react';
import { categoryLabel, channelLabel, formatTimestamp, humanize, priorityLabel } from '../format';
import { MessageBody } from '../MessageBody';
import { useFocusOn, useResource } from './hooks';
import { ageText, authorLabel, handledByLabel, percent, reasonLabel } from './labels';
import type { AuditEntry, Decision, OperatorClient, OperatorMessage } from './operatorApi';
import { DataTable, ResourceStatus } from './parts';
import { ReplyBox } from './ReplyBox';
import { ticketHash } from './routes';
import { SlaBadge } from './SlaBadge';
import { HandBackForm, ResolveForm } from './TicketActions';

export interface TicketViewProps {
  client: OperatorClient;
  id: string;
  announce: (text: string) => void;
}

/** One ticket: its state, the escalation, the whole conversation, the reply box, the agent's decisions and the audit trail. */
export function TicketView({ client, id, announce }: TicketViewProps) {
  const [detail, reload] = useResource((signal) => client.ticket(id, signal), [client, id]);
  const heading = useRef<HTMLHeadingElement | null>(null);
  // Focus the ticket's heading once it shows (and again for another ticket).
  useFocusOn(heading, detail.phase === 'found' ? detail.value.ticket.id : null);

  if (detail.phase !== 'found') {
    return (
      <>
        <ResourceStatus resource={detail} loading="Loading the ticket…" />
        {detail.phase === 'error' ? (
          <p>
            <a href="#/">Back to the queue</a>
          </p>
        ) : null}
      </>
    );
  }
  const { ticket, escalation, messages, decisions, audit } = detail.value;
  const firstQuestion = messages.find((m) => m.ticket_id === ticket.id && m.author === 'customer')?.body ?? '';
  const resolved = ticket.status === 'resolved';
  return (
    <article className="ts-ticket-view" aria-labelledby="ticket-title">
      <p>
        <a href="#/">← Back to the queue</a>
      </p>
      <header className="ts-card">
        <div className="ts-ticket-header">
          <div>
            <h1 id="ticket-title" ref={heading} tabIndex={-1} className="ts-view-title">
              {ticket.subject}
            </h1>
            <p className="ts-muted ts-mono">{ticket.id}</p>
          </div>
          <div className="ts-badges">
            <span className={`ts-badge ts-badge--${ticket.status}`} data-testid="ticket-status">
              {humanize(ticket.status)}
            </span>
            <SlaBadge state={ticket.sla.state} />
          </div>
        </div>
        <dl className="ts-meta">
          <Fact term="Channel">{channelLabel(ticket.channel)}</Fact>
          <Fact term="Category">{categoryLabel(ticket.category)}</Fact>
          <Fact term="Priority">{priorityLabel(ticket.priority)}</Fact>
          <Fact term="Handled by">{handledByLabel(ticket.handled_by)}</Fact>
          <Fact term="Assignee">{ticket.assignee ?? 'Unassigned'}</Fact>
          <Fact term="Age">{ageText(ticket.age_minutes)}</Fact>
          <Fact term="First reply due">{dueText(ticket.sla.first_response_due, ticket.sla.first_response_at)}</Fact>
          <Fact term="Resolution due">{dueText(ticket.sla.resolution_due, null)}</Fact>
        </dl>
      </header>

      {escalation ? (
        <section className="ts-card" aria-labelledby="escalation-title" data-testid="escalation">
          <h2 id="escalation-title">Escalation</h2>
          <dl className="ts-facts">
            <Fact term="Reason">{reasonLabel(escalation.reason)}</Fact>
            {escalation.note ? <Fact term="Note">{escalation.note}</Fact> : null}
            {escalation.summary ? <Fact term="Summary">{escalation.summary}</Fact> : null}
          </dl>
        </section>
      ) : null}

      <section className="ts-card" aria-labelledby="conversation-title">
        <h2 id="conversation-title">Conversation</h2>
        <p className="ts-muted ts-intro">Every message of this customer, on every channel, oldest first.</p>
        <Conversation messages={messages} ticketId={ticket.id} />
      </section>

      <section className="ts-card" aria-labelledby="reply-title">
        <h2 id="reply-title">Reply</h2>
        {resolved ? (
          <p className="ts-muted">This ticket is resolved: it takes no more replies.</p>
        ) : (
          <ReplyBox key={ticket.id} client={client} ticket={ticket} announce={announce} onSent={reload} />
        )}
      </section>

      {resolved ? null : (
        <section className="ts-card" aria-labelledby="actions-title">
          <h2 id="actions-title">Hand back or resolve</h2>
          {ticket.handled_by === 'person' ? (
            <HandBackForm client={client} ticketId={ticket.id} announce={announce} onDone={reload} />
          ) : null}
          <ResolveForm client={client} ticketId={ticket.id} question={firstQuestion} announce={announce} onDone={reload} />
        </section>
      )}

      <section className="ts-card" aria-labelledby="decisions-title">
        <h2 id="decisions-title">The agent's decisions</h2>
        <Decisions decisions={decisions} />
      </section>

      <section className="ts-card" aria-labelledby="audit-title">
        <h2 id="audit-title">Audit trail</h2>
        <Audit entries={audit} />
      </section>
    </article>
  );
}

function Fact({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div>
      <dt>{term}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function When({ at }: { at: string }) {
  return <time dateTime={at}>{formatTimestamp(at)}</time>;
}

function dueText(due: string | null, doneAt: string | null) {
  if (doneAt) return <>Done <When at={doneAt} /></>;
  return due ? <When at={due} /> : '—';
}

function Conversation({ messages, ticketId }: { messages: OperatorMessage[]; ticketId: string }) {
  if (messages.length === 0) return <p className="ts-muted">No messages yet.</p>;
  return (
    <ol className="ts-thread" data-testid="conversation">
      {messages.map((m) => (
        <li key={m.id} className={`ts-msg ${m.direction === 'outbound' ? 'ts-msg--agent' : 'ts-msg--customer'}`}>
          <div className="ts-msg-head">
            <span className="ts-msg-author">{authorLabel(m)}</span>
            <span className="ts-msg-meta">
              {channelLabel(m.channel)} · <When at={m.created_at} />
              {m.delivery_status ? ` · ${humanize(m.delivery_status)}` : null}
              {m.ticket_id !== ticketId ? (
                <>
                  {' · '}
                  <a href={ticketHash(m.ticket_id)}>ticket {m.ticket_id}</a>
                </>
              ) : null}
            </span>
          </div>
          <MessageBody body={m.body} />
        </li>
      ))}
    </ol>
  );
}

function Decisions({ decisions }: { decisions: Decision[] }) {
  if (decisions.length === 0) return <p className="ts-muted">The agent made no decisions on this ticket.</p>;
  return (
    <DataTable columns={['Kind', 'Decision', 'Confidence', 'Made', 'Verdict']} testId="decisions">
      {decisions.map((d) => (
        <tr key={d.id}>
          <th scope="row">{humanize(d.kind)}</th>
          <td className="ts-pre">{d.value}</td>
          <td>{percent(d.confidence)}</td>
          <td>
            <When at={d.at} />
          </td>
          <td>
            {d.verdict ? (
              <>
                {humanize(d.verdict.outcome)} by {d.verdict.by}, <When at={d.verdict.at} />
              </>
            ) : (
              'Not reviewed'
            )}
          </td>
        </tr>
      ))}
    </DataTable>
  );
}

function Audit({ entries }: { entries: AuditEntry[] }) {
  if (entries.length === 0) return <p className="ts-muted">Nothing recorded yet.</p>;
  return (
    <ol className="ts-audit" data-testid="audit">
      {entries.map((e, i) => (
        <li key={i}>
          <When at={e.at} /> · <strong>{e.actor}</strong> · {humanize(e.action)}
          {e.detail ? `: ${e.detail}` : null}
          {e.why ? <span className="ts-muted"> (why: {e.why})</span> : null}
        </li>
      ))}
    </ol>
  );
}
