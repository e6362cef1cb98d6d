import { splitParagraphs } from './format';

/** A message's text as paragraphs (blank lines apart; single line breaks kept): the status page's and the console's. */
export function MessageBody({ body }: { body: string }) {
  return (
    <div className="ts-msg-body">
      {splitParagraphs(body).map((p, j) => (
        <p key={j}>{p}</p>
      ))}
    </div>
  );
}
