// The offline action queue: what a technician does on a ticket while the tablet has no network
// (start, resolve, comment, tick a checklist step, attach a photo) is kept in IndexedDB and sent
// when the network returns, in the order it was done, each with the time it was done (`doneAt`)
// and its own Idempotency-Key, so a retry after a lost answer never does it twice on the server.
//
// Each action is its technician's: another person signing in on the same tablet neither sees nor
// sends it (it would be done in their name), and it waits for its owner to sign in again.
//
// An action the server now refuses (4xx with a reason: the ticket was reassigned, someone else
// resolved it) is kept, marked refused with the reason, until the technician dismisses it; an
// unreachable server (or its 5xx, or an ended session) leaves it waiting for the next try.

export const WAITING = 'waiting';
export const REFUSED = 'refused';

// Not the action's fault: the next try may succeed (an ended session: after signing in again).
const RETRIED_STATUSES = new Set([401, 408, 425, 429]);

/** Whether the server refused the action itself (kept as refused), rather than failing to answer. */
export function isRefusal(error) {
  const status = error?.status;
  if (typeof status !== 'number' || status < 400 || status >= 500) return false;
  if (RETRIED_STATUSES.has(status)) return false;
  // A rejected CSRF token is fetched again on the next write (lib/api-client.js).
  return !(status === 403 && /CSRF/i.test(error.message ?? ''));
}

/** Whether the request never reached the server (no network): the action is worth queueing. */
export const isUnreachable = (error) => error?.status === 0;

function browserOnline() {
  return globalThis.navigator?.onLine ?? true;
}

/**
 * createActionQueue({store, send}): `send(action, {live})` performs one action against the server
 * (live: sent as it is done, so no done_at) and throws the API client's errors.
 *
 * - `submit({ticketId, type, payload})` sends it at once when online and nothing waits before
 *   it; otherwise (or when the server cannot be reached) queues it. Answers `{queued, result}`.
 * - `flush()` sends what waits, oldest first; one flush at a time (and one tab, where the browser
 *   has Web Locks), stopping at the first action the server could not answer.
 * - `subscribe(listener)` / `getSnapshot()` for React's useSyncExternalStore.
 * - `owner()` names the signed-in user: only their actions are shown and sent; `load()` again
 *   when it changes.
 */
export function createActionQueue({
  store: storeOrPromise,
  send,
  now = () => new Date(),
  newKey = () => globalThis.crypto.randomUUID(),
  isOnline = browserOnline,
  onSent = () => {},
  locks = globalThis.navigator?.locks,
  owner = () => null,
}) {
  // The store may still be opening (IndexedDB is asynchronous): each use waits for it.
  const storage = Promise.resolve(storeOrPromise);
  const listeners = new Set();
  let snapshot = { actions: [], syncing: false, problem: null };
  let flushing = null;

  function publish(changes) {
    snapshot = { ...snapshot, ...changes };
    for (const listener of listeners) listener();
  }

  const owned = (actions) => actions.filter((action) => (action.owner ?? null) === owner());

  async function reload() {
    const store = await storage;
    publish({ actions: owned(await store.all()) });
  }

  async function sendWaiting() {
    const store = await storage;
    for (const action of owned(await store.all())) {
      if (action.state !== WAITING) continue;
      let result;
      try {
        result = await send(action, { live: false });
      } catch (error) {
        if (!isRefusal(error)) {
          publish({ problem: error.message });
          return false;
        }
        await store.put({ ...action, state: REFUSED, reason: error.message, status: error.status });
        await reload();
        continue;
      }
      await store.remove(action.seq);
      await reload();
      onSent(action, result);
    }
    publish({ problem: null });
    return true;
  }

  function flush() {
    if (flushing) return flushing;
    publish({ syncing: true });
    const sending = locks ? locks.request('maintainx-offline-queue', sendWaiting) : sendWaiting();
    flushing = sending.finally(async () => {
      flushing = null;
      await reload();
      publish({ syncing: false });
    });
    return flushing;
  }

  async function enqueue(action) {
    const store = await storage;
    await store.add(action);
    await reload();
    if (isOnline()) flush();
  }

  return {
    load: reload,
    flush,
    getSnapshot: () => snapshot,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async submit({ ticketId, type, payload = {} }) {
      const action = {
        ticketId: Number(ticketId),
        type,
        payload,
        key: newKey(),
        doneAt: now().toISOString(),
        state: WAITING,
        owner: owner(),
      };
      const store = await storage;
      const waiting = owned(await store.all()).some((queued) => queued.state === WAITING);
      if (isOnline() && !waiting) {
        try {
          const result = await send(action, { live: true });
          onSent(action, result);
          return { queued: false, result };
        } catch (error) {
          // The same key goes with the queued copy: if that request did reach the server, the
          // retry gets its answer instead of doing it again.
          if (!isUnreachable(error)) throw error;
        }
      }
      await enqueue(action);
      return { queued: true, result: null };
    },

    /** The technician has read a refusal: forget the action. */
    async dismiss(seq) {
      const store = await storage;
      await store.remove(seq);
      await reload();
    },
  };
}
