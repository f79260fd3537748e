import { QueryClientProvider } from '@tanstack/react-query';
import { act, renderHook, waitFor } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import { createQueryClient } from '../../../lib/query-client.js';
import { FakeWebSocket, fakeServer, installFakeWebSocket } from '../../../test/fakes.js';
import { useMachineReadings } from './useMachineReadings.js';

const nowS = () => Math.floor(Date.now() / 1000);

function renderReadings() {
  const queryClient = createQueryClient();
  return renderHook(() => useMachineReadings('M-007', 'live'), {
    wrapper: ({ children }) => <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>,
  });
}

describe('useMachineReadings', () => {
  let server;
  let dataEnd;
  let level;

  beforeEach(() => {
    installFakeWebSocket();
    dataEnd = nowS();
    level = 2;
    server = fakeServer({
      'GET /api/machines/M-007/readings/': (request) => {
        const from = Math.floor(Date.parse(request.query.get('from')) / 1000);
        // Buckets of 2 s from `from` (at most the last minute) up to the end of the stored data.
        const ts = [];
        for (let t = Math.max(from, nowS() - 60); t < dataEnd; t += 2) ts.push(t);
        const series = { metric: 'vibration', unit: 'mm/s RMS', ts, count: ts.map(() => 2) };
        return {
          machine: 'M-007',
          bucket_seconds: 2,
          source: 'readings',
          series: [{ ...series, avg: ts.map(() => level), min: ts.map(() => level), max: ts.map(() => level) }],
        };
      },
    });
  });

  it('draws the history and appends the live frames of the machine socket', async () => {
    const { result } = renderReadings();
    await waitFor(() => expect(result.current.charts).not.toBeNull());
    const historyPoints = result.current.charts.vibration[0].length;
    expect(historyPoints).toBeGreaterThan(20);
    expect(FakeWebSocket.latest().url).toMatch(/\/ws\/machines\/M-007\/$/);

    act(() => {
      FakeWebSocket.latest().open();
      FakeWebSocket.latest().receive({ machine: 'M-007', ts: new Date().toISOString(), metrics: { vibration: 6.4 } });
    });

    const [ts, avg] = result.current.charts.vibration;
    expect(ts.length).toBe(historyPoints + 1);
    expect(avg.at(-1)).toBe(6.4);
    expect(result.current.socket.status).toBe('open');
    expect(result.current.lastFrame.metrics.vibration).toBe(6.4);
  });

  it('fetches the readings it missed while the socket was down', async () => {
    dataEnd = nowS() - 20; // the page loaded a while ago
    const { result } = renderReadings();
    await waitFor(() => expect(result.current.charts).not.toBeNull());
    act(() => FakeWebSocket.latest().open());
    expect(result.current.charts.vibration[1]).not.toContain(3.3);
    dataEnd = nowS() + 10; // readings went on landing while the socket was down, at another level
    level = 3.3;

    act(() => FakeWebSocket.latest().drop());
    expect(result.current.socket.status).toBe('reconnecting');
    await waitFor(() => expect(FakeWebSocket.instances).toHaveLength(2), { timeout: 2000 });
    act(() => FakeWebSocket.latest().open());

    await waitFor(() => expect(server.requests).toHaveLength(2));
    const catchUp = server.requests[1];
    // From when it dropped (less a few seconds' margin), at full resolution.
    expect(nowS() - Date.parse(catchUp.query.get('from')) / 1000).toBeLessThan(10);
    expect(Number(catchUp.query.get('points'))).toBeGreaterThan(1);
    await waitFor(() => expect(result.current.charts.vibration[1]).toContain(3.3));
  });
});
