// Stand-ins for the browser's network (fetch and WebSocket) in unit tests. Our own code runs as it
// is; the end-to-end test in e2e/ talks to the real server.
import { vi } from 'vitest';

const REPLY = Symbol('reply');

/** An answer with a status other than 200: `reply(400, {detail: "…"})`. */
export const reply = (status, body) => ({ [REPLY]: true, status, body });

/**
 * fetch answering from a table of routes: {"GET /api/alerts/": (request) => body | reply(status, body)}.
 * Unknown routes answer 404, and every request is kept in `requests` for the assertions.
 */
export function fakeServer(routes) {
  const requests = [];
  const fetch = vi.fn(async (input, init = {}) => {
    const url = new URL(input, 'http://127.0.0.1');
    const method = init.method ?? 'GET';
    // A file upload's FormData is kept as it is, for the test to read its fields and files.
    const body = init.body instanceof FormData ? init.body : init.body ? JSON.parse(init.body) : undefined;
    const request = { method, path: url.pathname, query: url.searchParams, headers: init.headers ?? {}, body };
    requests.push(request);
    const handler = routes[`${method} ${url.pathname}`];
    let answer = handler ? await handler(request) : reply(404, { detail: 'Not found.' });
    if (!answer?.[REPLY]) answer = reply(200, answer);
    const text = answer.body === undefined ? '' : JSON.stringify(answer.body);
    return new Response(answer.status === 204 ? null : text, {
      status: answer.status,
      headers: { 'Content-Type': 'application/json', Date: new Date().toUTCString() },
    });
  });
  vi.stubGlobal('fetch', fetch);
  return { fetch, requests };
}

export const csrfRoute = { 'GET /api/auth/csrf/': () => ({ csrf_token: 'test-token' }) };

/** WebSocket whose instances the test opens, feeds and closes. */
export class FakeWebSocket {
  static instances = [];

  constructor(url) {
    this.url = url;
    this.closed = false;
    FakeWebSocket.instances.push(this);
  }

  static latest() {
    return FakeWebSocket.instances[FakeWebSocket.instances.length - 1];
  }

  static reset() {
    FakeWebSocket.instances = [];
  }

  open() {
    this.onopen?.({});
  }

  receive(frame) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  drop(code = 1006) {
    this.closed = true;
    this.onclose?.({ code });
  }

  close() {
    this.closed = true;
  }
}

export function installFakeWebSocket() {
  FakeWebSocket.reset();
  vi.stubGlobal('WebSocket', FakeWebSocket);
  return FakeWebSocket;
}

/**
 * The browser's Notification and Push APIs with a service worker registered, as a tablet's Chromium
 * has them: `permission` is the site's current one, `answer` what the permission prompt gives,
 * `subscribed` whether this device already has a push subscription. Undo with `uninstallFakePush`.
 */
export function installFakePush({ permission = 'default', answer = 'granted', subscribed = false } = {}) {
  let current = null;
  const subscriptionMake = (options) => {
    const endpoint = 'https://push.vendor.invalid/send/device-1';
    const subscription = {
      endpoint,
      options,
      toJSON: () => ({ endpoint, expirationTime: null, keys: { p256dh: 'BDevicePublicKey', auth: 'DeviceAuthSecret' } }),
      unsubscribe: vi.fn(async () => {
        current = null;
        return true;
      }),
    };
    current = subscription;
    return subscription;
  };
  class FakeNotification {
    static permission = permission;

    static shown = [];

    static requestPermission = vi.fn(async () => {
      FakeNotification.permission = answer;
      return answer;
    });

    constructor(title, options = {}) {
      this.title = title;
      this.options = options;
      this.close = vi.fn();
      FakeNotification.shown.push(this);
    }
  }
  if (subscribed) subscriptionMake({ userVisibleOnly: true });
  const pushManager = {
    getSubscription: vi.fn(async () => current),
    subscribe: vi.fn(async (options) => subscriptionMake(options)),
  };
  const registration = { scope: 'http://127.0.0.1/', pushManager };
  const serviceWorker = {
    getRegistration: vi.fn(async () => registration),
    register: vi.fn(async () => registration),
    ready: Promise.resolve(registration),
  };
  vi.stubGlobal('Notification', FakeNotification);
  vi.stubGlobal('PushManager', class PushManager {});
  Object.defineProperty(navigator, 'serviceWorker', { configurable: true, value: serviceWorker });
  return { Notification: FakeNotification, pushManager, serviceWorker, subscription: () => current };
}

export function uninstallFakePush() {
  vi.unstubAllGlobals();
  delete navigator.serviceWorker;
}
