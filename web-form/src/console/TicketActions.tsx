import { useState, type FormEvent } from 'react';
import { FormBanner, SendButton } from '../FormControls';
import { useIdPrefix } from '../ids';
import { cleanText } from '../text';
import { useAction } from './hooks';
import type { OperatorClient } from './operatorApi';
import { TextField } from './parts';

interface ActionProps {
  client: OperatorClient;
  ticketId: string;
  announce: (text: string) => void;
  /** The ticket changed: load it again. */
  onDone: () => void;
}

/** '' → null: the API's "not given". */
const orNull = (text: string): string | null => cleanText(text) || null;

/** Hands the ticket back to the agent, which answers the customer's next message again. */
export function HandBackForm({ client, ticketId, announce, onDone }: ActionProps) {
  const id = useIdPrefix('tch');
  const [note, setNote] = useState('');
  const action = useAction(announce);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const payload = { note: orNull(note) };
    const done = await action.run(
      { action: 'hand-back', ticket_id: ticketId, ...payload },
      (key) => client.handBack(ticketId, payload.note, key),
      'Handed back: the agent answers the next message.',
    );
    if (done) {
      setNote('');
      onDone();
    }
  }

  return (
    <form className="ts-subform" noValidate onSubmit={onSubmit} aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Hand back to the agent</h3>
      {action.error ? <FormBanner notice={{ tone: 'error', text: action.error }} testId="hand-back-banner" /> : null}
      <TextField id={`${id}-note`} name="note" label="Note for the record (optional)" value={note} onChange={action.change(setNote)} />
      <div className="ts-actions">
        <SendButton sending={action.sending} label="Hand back" />
      </div>
    </form>
  );
}

/**
 * Resolves the ticket. With notes, the API proposes a learned answer: the question is the
 * customer's first message and the answer the notes, unless the operator words them otherwise.
 */
export function ResolveForm({ client, ticketId, question: firstQuestion, announce, onDone }: ActionProps & { question: string }) {
  const id = useIdPrefix('tcv');
  const [notes, setNotes] = useState('');
  const [question, setQuestion] = useState(firstQuestion);
  // The answer follows the notes until the operator writes one of their own.
  const [answer, setAnswer] = useState<string | null>(null);
  const action = useAction(announce);
  const shownAnswer = answer ?? notes;

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const withNotes = orNull(notes);
    const payload = {
      notes: withNotes ?? '',
      question: withNotes ? orNull(question) : null,
      answer: withNotes ? orNull(shownAnswer) : null,
    };
    const done = await action.run(
      { action: 'resolve', ticket_id: ticketId, ...payload },
      (key) => client.resolve(ticketId, payload, key),
      withNotes ? 'Ticket resolved. The learned answer waits in Reviews.' : 'Ticket resolved.',
    );
    if (done) onDone();
  }

  return (
    <form className="ts-subform" noValidate onSubmit={onSubmit} aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Resolve with notes</h3>
      {action.error ? <FormBanner notice={{ tone: 'error', text: action.error }} testId="resolve-banner" /> : null}
      <TextField
        id={`${id}-notes`}
        name="notes"
        label="Resolution notes"
        rows={3}
        value={notes}
        onChange={action.change(setNotes)}
        hint="With notes, a learned answer is proposed for review, so the agent can answer this question next time."
      />
      <fieldset className="ts-fieldset" disabled={!cleanText(notes)}>
        <legend>Learned-answer proposal</legend>
        <TextField id={`${id}-question`} name="question" label="Question" rows={2} value={question} onChange={action.change(setQuestion)} />
        <TextField id={`${id}-answer`} name="answer" label="Answer" rows={3} value={shownAnswer} onChange={action.change(setAnswer)} />
      </fieldset>
      <div className="ts-actions">
        <SendButton sending={action.sending} label="Resolve ticket" />
      </div>
    </form>
  );
}
