import { useEffect, useRef, useState } from 'react';
import type { SendResult } from './api';
import { defaultStorage } from './draft';
import { loadAttempt, nextAttempt, saveAttempt, type Attempt } from './idempotency';

/**
 * A form's sends as idempotent attempts (see idempotency.ts): a retry of an unchanged payload
 * reuses the last key. The attempt is kept in session storage under `storageKey`, so a retry
 * after a reload reuses it too.
 */
export function useSendAttempt(storageKey: string) {
  const [sending, setSending] = useState(false);
  const inFlight = useRef(false);
  const [saved] = useState(() => loadAttempt(defaultStorage(), storageKey));
  const attempt = useRef<Attempt | null>(saved);
  const mounted = useRef(true);

  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  function remember<A extends Attempt | null>(next: A): A {
    if (next !== attempt.current) saveAttempt(next, defaultStorage(), storageKey);
    attempt.current = next;
    return next;
  }

  return {
    sending,
    /** True from the start of a send until its answer: a second press must not send again. */
    isSending: () => inFlight.current,
    /** What will be sent changed: the next send is a new attempt with a new key. */
    edit: () => void remember(nextAttempt(attempt.current, { type: 'edit' })),
    /**
     * Sends `payload` through `post` with the attempt's key. Resolves to null when the form
     * went away meanwhile.
     */
    async send<T>(payload: object, post: (idempotencyKey: string) => Promise<SendResult<T>>) {
      inFlight.current = true;
      setSending(true);
      const { key } = remember(nextAttempt(attempt.current, { type: 'submit', payload }));
      const result = await post(key);
      inFlight.current = false;
      remember(nextAttempt(attempt.current, { type: 'result', ok: result.kind === 'success' }));
      if (!mounted.current) return null;
      setSending(false);
      return result;
    },
  };
}
