import { createContext, useContext, useEffect, useSyncExternalStore } from 'react';

// How often a waiting action is tried again while the browser says it is online but the server
// did not answer (the shop floor's wireless comes and goes without an `online` event).
const RETRY_EVERY_MS = 15000;

const OfflineQueueContext = createContext(null);

function subscribeOnline(listener) {
  window.addEventListener('online', listener);
  window.addEventListener('offline', listener);
  return () => {
    window.removeEventListener('online', listener);
    window.removeEventListener('offline', listener);
  };
}

/** Whether the browser has a network, updated by its online and offline events. */
export function useOnline() {
  return useSyncExternalStore(subscribeOnline, () => navigator.onLine);
}

/** Gives the pages the queue (lib/offline/queue.js), loads what an earlier visit left, and sends it
 * when the network returns. */
export function OfflineQueueProvider({ queue, children }) {
  const online = useOnline();

  useEffect(() => {
    queue.load().then(() => navigator.onLine && queue.flush());
  }, [queue]);

  useEffect(() => {
    if (!online) return undefined;
    queue.flush();
    const timer = setInterval(() => {
      if (queue.getSnapshot().actions.some((action) => action.state === 'waiting')) queue.flush();
    }, RETRY_EVERY_MS);
    return () => clearInterval(timer);
  }, [queue, online]);

  return <OfflineQueueContext.Provider value={queue}>{children}</OfflineQueueContext.Provider>;
}

/** `{queue, actions, syncing, problem}`; null queue outside the provider (the login page). */
export function useOfflineQueue() {
  const queue = useContext(OfflineQueueContext);
  const snapshot = useSyncExternalStore(
    queue?.subscribe ?? (() => () => {}),
    queue?.getSnapshot ?? (() => EMPTY),
  );
  return { queue, ...snapshot };
}

const EMPTY = { actions: [], syncing: false, problem: null };
