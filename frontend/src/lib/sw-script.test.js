// public/sw.js, the dashboard's service worker, run in a stand-in of the worker's global scope:
// the push and notificationclick handlers are its own code, the registration and the window
// clients are the browser's, faked here. The push end-to-end test hands it a real push in Chromium.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

const SOURCE = readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../public/sw.js'), 'utf8');
const ORIGIN = 'https://maintainx.plant.example';

function workerScope({ windows = [] } = {}) {
  const handlers = {};
  const scope = {
    location: new URL(`${ORIGIN}/sw.js`),
    addEventListener: (type, handler) => (handlers[type] = handler),
    skipWaiting: vi.fn(),
    registration: { showNotification: vi.fn(async () => undefined) },
    clients: {
      claim: vi.fn(async () => undefined),
      matchAll: vi.fn(async () => windows),
      openWindow: vi.fn(async (url) => ({ url })),
    },
  };
  new Function('self', SOURCE)(scope);
  /** Dispatches an event to the worker's handler; answers what it handed to waitUntil, awaited. */
  const dispatch = async (type, event) => {
    let pending;
    handlers[type]({ ...event, waitUntil: (promise) => (pending = promise) });
    return pending;
  };
  return { scope, dispatch };
}

const pushData = (text) => ({
  json: () => JSON.parse(text),
  text: () => text,
});

describe('the service worker (public/sw.js)', () => {
  it('shows a push as a notification with its title, body, tag and page', async () => {
    const { scope, dispatch } = workerScope();
    const message = {
      title: 'Ticket #2 on M-001 is yours',
      body: 'M-001 reported E-TMP-01',
      url: '/tickets/2',
      tag: 'ticket-2',
      ticket: 2,
    };

    await dispatch('push', { data: pushData(JSON.stringify(message)) });

    expect(scope.registration.showNotification).toHaveBeenCalledWith('Ticket #2 on M-001 is yours', {
      body: 'M-001 reported E-TMP-01',
      tag: 'ticket-2',
      data: { url: '/tickets/2' },
    });
  });

  it('shows a push that is not JSON as its text rather than dropping it', async () => {
    const { scope, dispatch } = workerScope();

    await dispatch('push', { data: pushData('Pump M-003 stopped') });

    expect(scope.registration.showNotification).toHaveBeenCalledWith('MaintainX', {
      body: 'Pump M-003 stopped',
      tag: undefined,
      data: { url: '/' },
    });
  });

  it('opens the ticket when the notification is tapped', async () => {
    const { scope, dispatch } = workerScope({ windows: [{ url: `${ORIGIN}/tickets`, focus: vi.fn() }] });
    const notification = { data: { url: '/tickets/2' }, close: vi.fn() };

    await dispatch('notificationclick', { notification });

    expect(notification.close).toHaveBeenCalled();
    expect(scope.clients.openWindow).toHaveBeenCalledWith(`${ORIGIN}/tickets/2`);
  });

  it('brings forward a tab already on the ticket instead of opening another', async () => {
    const open = { url: `${ORIGIN}/tickets/2`, focus: vi.fn(async () => open) };
    const { scope, dispatch } = workerScope({ windows: [open] });

    await dispatch('notificationclick', { notification: { data: { url: '/tickets/2' }, close: vi.fn() } });

    expect(open.focus).toHaveBeenCalled();
    expect(scope.clients.openWindow).not.toHaveBeenCalled();
  });
});
