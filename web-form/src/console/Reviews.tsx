import { useRef, useState, type FormEvent } from 'react';
import { channelLabel, formatTimestamp, humanize } from '../format';
import { FormBanner } from '../FormControls';
import { useIdPrefix } from '../ids';
import { cleanText } from '../text';
import { useAction, useFocusOn, useResource } from './hooks';
import { percent } from './labels';
import type { AgreementRow, Draft, OperatorClient, Proposal } from './operatorApi';
import { DataTable, ResourceStatus, TextField } from './parts';
import { ticketHash } from './routes';

export interface ReviewsProps {
  client: OperatorClient;
  announce: (text: string) => void;
}

/** What waits for a person: the agent's held drafts and the learned-answer proposals; and how often people agree with the agent. */
export function Reviews({ client, announce }: ReviewsProps) {
  const [reviews, reloadReviews] = useResource((signal) => client.reviews(signal), [client]);
  const [agreement, reloadAgreement] = useResource((signal) => client.agreement(signal), [client]);
  const heading = useRef<HTMLHeadingElement | null>(null);
  const draftsHeading = useRef<HTMLHeadingElement | null>(null);
  const proposalsHeading = useRef<HTMLHeadingElement | null>(null);
  useFocusOn(heading, 'reviews');

  /** A verdict was given: the item leaves its list, focus goes to the list's heading. */
  function decided(list: 'drafts' | 'proposals') {
    reloadReviews();
    reloadAgreement();
    (list === 'drafts' ? draftsHeading : proposalsHeading).current?.focus();
  }

  const pending = reviews.phase === 'found' ? reviews.value.proposals.filter((p) => p.status === 'pending') : [];
  return (
    <div className="ts-reviews">
      <h1 ref={heading} tabIndex={-1} className="ts-view-title">
        Reviews
      </h1>

      <section className="ts-card" aria-labelledby="agreement-title">
        <h2 id="agreement-title">Agreement with the agent</h2>
        {agreement.phase === 'found' ? (
          <AgreementTable rows={agreement.value.by_kind} />
        ) : agreement.phase === 'error' ? (
          <p className="ts-original-error">{agreement.message}</p>
        ) : (
          <p className="ts-muted">Loading…</p>
        )}
      </section>

      <ResourceStatus resource={reviews} loading="Loading the reviews…" />
      {reviews.phase === 'found' ? (
        <>
          <section className="ts-card" aria-labelledby="drafts-title">
            <h2 id="drafts-title" ref={draftsHeading} tabIndex={-1}>
              Drafts held for review ({reviews.value.drafts.length})
            </h2>
            {reviews.value.drafts.length === 0 ? <p className="ts-muted">No drafts wait for review.</p> : null}
            {reviews.value.drafts.map((d) => (
              <DraftItem
                key={`${d.ticket_id}/${d.message_id}`}
                client={client}
                draft={d}
                announce={announce}
                onDone={() => decided('drafts')}
              />
            ))}
          </section>
          <section className="ts-card" aria-labelledby="proposals-title">
            <h2 id="proposals-title" ref={proposalsHeading} tabIndex={-1}>
              Learned-answer proposals ({pending.length})
            </h2>
            {pending.length === 0 ? <p className="ts-muted">No proposals wait for review.</p> : null}
            {pending.map((p) => (
              <ProposalItem key={p.id} client={client} proposal={p} announce={announce} onDone={() => decided('proposals')} />
            ))}
          </section>
        </>
      ) : null}
    </div>
  );
}

function AgreementTable({ rows }: { rows: AgreementRow[] }) {
  if (rows.length === 0) return <p className="ts-muted">No decisions reviewed yet.</p>;
  return (
    <DataTable columns={['Decision', 'Made', 'Reviewed', 'Agreed', 'Agreement rate']} testId="agreement">
      {rows.map((r) => (
        <tr key={r.kind}>
          <th scope="row">{humanize(r.kind)}</th>
          <td>{r.decided}</td>
          <td>{r.reviewed}</td>
          <td>{r.agreed}</td>
          <td>{percent(r.rate)}</td>
        </tr>
      ))}
    </DataTable>
  );
}

interface ItemProps {
  client: OperatorClient;
  announce: (text: string) => void;
  onDone: () => void;
}

/**
 * "Approve as is" until the text is changed, then "Approve with edits": the button says what
 * will be recorded. The buttons stay enabled while sending (useAction drops a second press),
 * so focus is never lost to a disabled button.
 */
function VerdictButtons({ edited, rejectLabel, onReject }: { edited: boolean; rejectLabel: string; onReject: () => void }) {
  return (
    <div className="ts-actions">
      <button type="submit" className="ts-button">
        {edited ? 'Approve with edits' : 'Approve as is'}
      </button>
      <button type="button" className="ts-button ts-button--secondary" onClick={onReject}>
        {rejectLabel}
      </button>
    </div>
  );
}

function DraftItem({ client, draft, announce, onDone }: ItemProps & { draft: Draft }) {
  const id = useIdPrefix('tcd');
  const [body, setBody] = useState(draft.body);
  const [note, setNote] = useState('');
  const action = useAction(announce);
  const edited = cleanText(body) !== cleanText(draft.body);
  const target = { ticket_id: draft.ticket_id, message_id: draft.message_id };

  async function approve(e: FormEvent) {
    e.preventDefault();
    const sent = edited ? body : null;
    const ok = await action.run(
      { action: 'approve-draft', ...target, body: sent },
      (key) => client.approveDraft(draft, sent, key),
      edited ? 'Edited draft approved and sent.' : 'Draft approved and sent.',
    );
    if (ok) onDone();
  }

  async function reject() {
    const why = cleanText(note) || null;
    const ok = await action.run(
      { action: 'reject-draft', ...target, note: why },
      (key) => client.rejectDraft(draft, why, key),
      'Draft rejected: nothing was sent, and the ticket went to a person.',
    );
    if (ok) onDone();
  }

  return (
    <article className="ts-review-item" aria-labelledby={`${id}-title`} data-testid="draft">
      <h3 id={`${id}-title`}>{draft.subject}</h3>
      <p className="ts-muted">
        <a href={ticketHash(draft.ticket_id)}>Ticket {draft.ticket_id}</a> · {channelLabel(draft.channel)} · confidence{' '}
        {percent(draft.confidence)} · <time dateTime={draft.created_at}>{formatTimestamp(draft.created_at)}</time>
      </p>
      <form noValidate onSubmit={approve} aria-busy={action.sending || undefined}>
        {action.error ? <FormBanner notice={{ tone: 'error', text: action.error }} testId="draft-banner" /> : null}
        <TextField id={`${id}-body`} name="body" label="Reply to send" rows={5} value={body} onChange={action.change(setBody)} />
        <TextField id={`${id}-note`} name="note" label="Why reject (optional)" value={note} onChange={action.change(setNote)} />
        <VerdictButtons edited={edited} rejectLabel="Reject draft" onReject={() => void reject()} />
      </form>
    </article>
  );
}

function ProposalItem({ client, proposal, announce, onDone }: ItemProps & { proposal: Proposal }) {
  const id = useIdPrefix('tcp');
  const [question, setQuestion] = useState(proposal.question);
  const [answer, setAnswer] = useState(proposal.answer);
  const action = useAction(announce);
  const questionEdited = cleanText(question) !== cleanText(proposal.question);
  const answerEdited = cleanText(answer) !== cleanText(proposal.answer);

  async function approve(e: FormEvent) {
    e.preventDefault();
    const edits = { question: questionEdited ? question : null, answer: answerEdited ? answer : null };
    const ok = await action.run(
      { action: 'approve-proposal', id: proposal.id, ...edits },
      (key) => client.approveProposal(proposal.id, edits, key),
      'Learned answer approved: the agent can use it now.',
    );
    if (ok) onDone();
  }

  async function reject() {
    const ok = await action.run(
      { action: 'reject-proposal', id: proposal.id },
      (key) => client.rejectProposal(proposal.id, key),
      'Proposal rejected.',
    );
    if (ok) onDone();
  }

  return (
    <article className="ts-review-item" aria-labelledby={`${id}-title`} data-testid="proposal">
      <h3 id={`${id}-title`}>{proposal.question}</h3>
      <p className="ts-muted">
        From <a href={ticketHash(proposal.source_ticket)}>ticket {proposal.source_ticket}</a> ·{' '}
        <time dateTime={proposal.created_at}>{formatTimestamp(proposal.created_at)}</time>
      </p>
      <form noValidate onSubmit={approve} aria-busy={action.sending || undefined}>
        {action.error ? <FormBanner notice={{ tone: 'error', text: action.error }} testId="proposal-banner" /> : null}
        <TextField id={`${id}-question`} name="question" label="Question" rows={2} value={question} onChange={action.change(setQuestion)} />
        <TextField id={`${id}-answer`} name="answer" label="Answer" rows={4} value={answer} onChange={action.change(setAnswer)} />
        <VerdictButtons edited={questionEdited || answerEdited} rejectLabel="Reject proposal" onReject={() => void reject()} />
      </form>
    </article>
  );
}
