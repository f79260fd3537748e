import { useEffect, useRef, useState } from 'react';
import { serverNow } from './api-client.js';

// Closed by the server on purpose (mirroring HTTP 401/403/404): trying again cannot help.
export const REFUSED_CODES = { 4401: 'signed-out', 4403: 'no-role', 4404: 'not-found' };
// What a catch-up asks for starts this much before the drop: the server's clock is known from a
// Date header to the second, and asking twice for a change is harmless.
const CATCH_UP_MARGIN_MS = 5000;

export function backoffDelay(attempt, { baseMs = 500, maxMs = 15000, random = Math.random } = {}) {
  const ceiling = Math.min(maxMs, baseMs * 2 ** attempt);
  // Full jitter: a plant of dashboards that lost the server together does not come back in step.
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

function socketUrl(path) {
  const { protocol, host } = window.location;
  return `${protocol === 'https:' ? 'wss:' : 'ws:'}//${host}${path}`;
}

/**
 * A websocket that reconnects with backoff until stopped. After a reconnect it calls
 * onReconnect(since), `since` being the server-clock instant the connection dropped, so the caller
 * fetches what it missed with `?since=`. States: connecting, open, reconnecting, refused.
 */
export class LiveSocket {
  constructor(path, { onMessage, onReconnect, onStatus, createSocket, timers = globalThis } = {}) {
    this.path = path;
    this.onMessage = onMessage ?? (() => {});
    this.onReconnect = onReconnect ?? (() => {});
    this.onStatus = onStatus ?? (() => {});
    this.createSocket = createSocket ?? ((url) => new WebSocket(url));
    this.timers = timers;
    this.attempt = 0;
    this.droppedAt = null;
    this.stopped = false;
    this.retryTimer = null;
    this.socket = null;
    this.status = 'connecting';
    this.handleOnline = () => this.retryNow();
  }

  start() {
    this.startedAt = new Date(serverNow().getTime() - CATCH_UP_MARGIN_MS);
    window.addEventListener('online', this.handleOnline);
    this.connect();
    return this;
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.handleOnline);
    this.timers.clearTimeout(this.retryTimer);
    if (this.socket) {
      this.socket.onclose = null;
      this.socket.close(1000);
    }
  }

  setStatus(status, detail) {
    this.status = status;
    this.onStatus(status, detail);
  }

  connect() {
    if (this.stopped) return;
    const socket = this.createSocket(socketUrl(this.path));
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.setStatus('open');
      if (this.droppedAt !== null) {
        const since = this.droppedAt;
        this.droppedAt = null;
        this.onReconnect(since);
      }
    };
    socket.onmessage = (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return; // not ours to interpret; the server only sends JSON
      }
      this.onMessage(frame);
    };
    socket.onclose = (event) => {
      if (this.stopped) return;
      const refused = REFUSED_CODES[event.code];
      if (refused) {
        this.setStatus('refused', refused);
        return;
      }
      if (this.droppedAt === null) {
        // Never open yet: what the page loaded may be older than this first connection.
        this.droppedAt =
          this.status === 'open' ? new Date(serverNow().getTime() - CATCH_UP_MARGIN_MS) : this.startedAt;
      }
      this.setStatus('reconnecting');
      this.retryTimer = this.timers.setTimeout(() => this.connect(), backoffDelay(this.attempt));
      this.attempt += 1;
    };
  }

  retryNow() {
    if (this.stopped || this.status !== 'reconnecting') return;
    this.timers.clearTimeout(this.retryTimer);
    this.connect();
  }
}

/** React hook over LiveSocket; the callbacks may change between renders without reconnecting. */
export function useLiveSocket(path, { onMessage, onReconnect, enabled = true } = {}) {
  const [state, setState] = useState({ status: 'connecting', detail: null });
  const handlers = useRef({ onMessage, onReconnect });
  handlers.current = { onMessage, onReconnect };

  useEffect(() => {
    if (!enabled || !path) return undefined;
    setState({ status: 'connecting', detail: null });
    const socket = new LiveSocket(path, {
      onMessage: (frame) => handlers.current.onMessage?.(frame),
      onReconnect: (since) => handlers.current.onReconnect?.(since),
      onStatus: (status, detail) => setState({ status, detail: detail ?? null }),
    }).start();
    return () => socket.stop();
  }, [path, enabled]);

  return state;
}
