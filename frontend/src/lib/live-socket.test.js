import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeWebSocket, installFakeWebSocket } from '../test/fakes.js';
import { LiveSocket, backoffDelay } from './live-socket.js';

describe('LiveSocket', () => {
  let statuses;
  let reconnects;
  let frames;
  let socket;

  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-11-27T10:00:00Z'));
    installFakeWebSocket();
    statuses = [];
    reconnects = [];
    frames = [];
    socket = new LiveSocket('/ws/plant/', {
      onStatus: (status, detail) => statuses.push(detail ? `${status}:${detail}` : status),
      onReconnect: (since) => reconnects.push(since),
      onMessage: (frame) => frames.push(frame),
    }).start();
  });

  afterEach(() => {
    socket.stop();
    vi.useRealTimers();
  });

  it('connects to the page host and relays the JSON frames', () => {
    expect(FakeWebSocket.latest().url).toBe(`ws://${window.location.host}/ws/plant/`);
    FakeWebSocket.latest().open();
    FakeWebSocket.latest().receive({ type: 'alert', id: 1 });

    expect(statuses).toEqual(['open']);
    expect(frames).toEqual([{ type: 'alert', id: 1 }]);
  });

  it('reconnects after a drop with growing delays, and asks to catch up from the drop', () => {
    FakeWebSocket.latest().open();
    vi.setSystemTime(new Date('2026-11-27T10:05:00Z'));
    FakeWebSocket.latest().drop();
    expect(statuses.at(-1)).toBe('reconnecting');

    // The first retry fails too: the server is still away.
    vi.advanceTimersByTime(500);
    expect(FakeWebSocket.instances).toHaveLength(2);
    FakeWebSocket.latest().drop();
    vi.advanceTimersByTime(499);
    expect(FakeWebSocket.instances).toHaveLength(2); // the second delay is longer than the first
    vi.advanceTimersByTime(1000);
    expect(FakeWebSocket.instances).toHaveLength(3);
    expect(reconnects).toEqual([]);

    FakeWebSocket.latest().open();
    expect(statuses.at(-1)).toBe('open');
    expect(reconnects).toHaveLength(1);
    // Since the drop, with a margin for the server clock being known only to the second.
    expect(reconnects[0].toISOString()).toBe('2026-11-27T10:04:55.000Z');
  });

  it('does not ask to catch up on the first connection', () => {
    FakeWebSocket.latest().open();
    expect(reconnects).toEqual([]);
  });

  it('stops trying when the server refuses the user', () => {
    FakeWebSocket.latest().drop(4401);
    vi.advanceTimersByTime(60_000);

    expect(statuses).toEqual(['refused:signed-out']);
    expect(FakeWebSocket.instances).toHaveLength(1);
  });

  it('retries at once when the browser comes back online', () => {
    FakeWebSocket.latest().open();
    FakeWebSocket.latest().drop();
    window.dispatchEvent(new Event('online'));
    expect(FakeWebSocket.instances).toHaveLength(2);
  });

  it('closes for good when stopped', () => {
    FakeWebSocket.latest().open();
    socket.stop();
    vi.advanceTimersByTime(60_000);
    expect(FakeWebSocket.latest().closed).toBe(true);
    expect(FakeWebSocket.instances).toHaveLength(1);
  });
});

describe('backoffDelay', () => {
  it('doubles up to a ceiling, with jitter in its upper half', () => {
    const ceilings = [0, 1, 2, 3, 4, 5, 6, 10].map((attempt) => backoffDelay(attempt, { random: () => 1 }));
    expect(ceilings).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
    expect(backoffDelay(3, { random: () => 0 })).toBe(2000);
  });
});
