import { useEffect, useRef, useState, type DependencyList, type RefObject } from 'react';
import type { LoadResult, SendResult } from '../api';
import { useSendAttempt } from '../useSendAttempt';
import { failureText } from './operatorApi';

export type Resource<T> = { phase: 'loading' } | { phase: 'found'; value: T } | { phase: 'error'; message: string };

/**
 * What `fetch` loads, again whenever `deps` change or `reload()` is called. A reload keeps
 * the last answer on screen until the new one comes; an answer that was overtaken is dropped.
 */
export function useResource<T>(
  fetch: (signal: AbortSignal) => Promise<LoadResult<T>>,
  deps: DependencyList,
): [Resource<T>, () => void] {
  const [state, setState] = useState<Resource<T>>({ phase: 'loading' });
  const [generation, setGeneration] = useState(0);
  const lastDeps = useRef<DependencyList | null>(null);

  useEffect(() => {
    const changed = !lastDeps.current || deps.some((d, i) => d !== lastDeps.current?.[i]);
    lastDeps.current = deps;
    if (changed) setState({ phase: 'loading' });
    const ctrl = new AbortController();
    void fetch(ctrl.signal).then((r) => {
      if (ctrl.signal.aborted) return;
      setState(r.kind === 'found' ? { phase: 'found', value: r.value } : { phase: 'error', message: failureText(r) });
    });
    return () => ctrl.abort();
    // `fetch` is a new closure each render; `deps` say when it asks for something else.
  }, [...deps, generation]);

  return [state, () => setGeneration((g) => g + 1)];
}

/** Where an unfinished console write is kept, so a retry after a reload reuses its key. */
export const CONSOLE_ATTEMPT_KEY = 'tandem-console:attempt';

/**
 * An operator's writes (reply, hand back, resolve, a review's verdict) as idempotent attempts:
 * a retry of the same payload reuses its Idempotency-Key. A failure is kept in `error` and
 * announced; so is `done` on success.
 */
export function useAction(announce: (text: string) => void) {
  const sender = useSendAttempt(CONSOLE_ATTEMPT_KEY);
  const [error, setError] = useState<string | null>(null);
  return {
    sending: sender.sending,
    error,
    /** What will be sent changed: the next send is a new attempt. */
    edit: sender.edit,
    /** An onChange that sets a field of the payload with `set`, and ends the attempt. */
    change:
      (set: (value: string) => void) =>
      (value: string): void => {
        set(value);
        sender.edit();
      },
    /** Sends `payload` (which names the action and its target) through `post`; the answer's data, or null. */
    async run<T>(payload: object, post: (key: string) => Promise<SendResult<T>>, done: string): Promise<T | null> {
      if (sender.isSending()) return null;
      setError(null);
      const r = await sender.send(payload, post);
      if (!r) return null;
      if (r.kind === 'success') {
        announce(done);
        return r.data;
      }
      const text = failureText(r);
      setError(text);
      announce(text);
      return null;
    },
  };
}

/** Moves focus to `ref` (a view's heading, tabIndex -1) whenever `key` changes: after navigation. */
export function useFocusOn(ref: RefObject<HTMLElement | null>, key: unknown): void {
  useEffect(() => {
    ref.current?.focus();
  }, [ref, key]);
}
