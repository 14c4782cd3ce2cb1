/**
 * A signal that aborts when its parent does or once a deadline passes, for one call or one job.
 * The same as `AbortSignal.any([parent, AbortSignal.timeout(ms)])`, which Node 20 makes costly
 * on a hot path (a transferable timeout signal and a weakly referenced composite per call); this
 * is one controller, one timer and one listener, released by `clear` when the work is done.
 */
export interface Deadline {
  signal: AbortSignal;
  /** Stops the timer and detaches from the parent (call when the work is over, however it ended). */
  clear(): void;
}

export function deadlineSignal(ms: number, parent?: AbortSignal): Deadline {
  const ac = new AbortController();
  const onParent = (): void => ac.abort(parent!.reason);
  const timer = setTimeout(() => ac.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')), ms);
  if (parent?.aborted) onParent();
  else parent?.addEventListener('abort', onParent, { once: true });
  return {
    signal: ac.signal,
    clear() {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParent);
    },
  };
}
