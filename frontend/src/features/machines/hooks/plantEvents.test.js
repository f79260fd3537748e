import { QueryClient } from '@tanstack/react-query';
import { describe, expect, it } from 'vitest';
import { machineEventApply, machinesCatchUp } from './plantEvents.js';
import { machineKeys } from './useMachines.js';

function clientWith(entries) {
  const queryClient = new QueryClient();
  for (const [key, data] of entries) queryClient.setQueryData(key, data);
  return queryClient;
}

const isStale = (queryClient, key) => queryClient.getQueryState(key).isInvalidated;

describe('machineEventApply', () => {
  it('marks the newest predictions and every machine page history stale when a tick is pushed', () => {
    const history = machineKeys.predictions('M-007', '2026-11-27T08:00:00Z');
    const queryClient = clientWith([
      [machineKeys.latestPredictions(), { machines: [] }],
      [history, []],
      [machineKeys.list(), []],
    ]);

    const handled = machineEventApply(queryClient, { type: 'predictions', event: 'scored', predicted: 24 });

    expect(handled).toBe(true);
    expect(isStale(queryClient, machineKeys.latestPredictions())).toBe(true);
    expect(isStale(queryClient, history)).toBe(true);
    expect(isStale(queryClient, machineKeys.list())).toBe(false);
  });

  it('applies a status change to the machine list and the machine page without refetching them', () => {
    const queryClient = clientWith([
      [machineKeys.list(), [{ code: 'M-007', status: 'running' }, { code: 'M-008', status: 'running' }]],
      [machineKeys.detail('M-007'), { code: 'M-007', status: 'running' }],
    ]);

    machineEventApply(queryClient, { type: 'machine', event: 'status', machine: 'M-007', status: 'down' });

    expect(queryClient.getQueryData(machineKeys.list()).map((m) => m.status)).toEqual(['down', 'running']);
    expect(queryClient.getQueryData(machineKeys.detail('M-007')).status).toBe('down');
    expect(isStale(queryClient, machineKeys.list())).toBe(false);
  });

  it('leaves frames of other features alone', () => {
    expect(machineEventApply(new QueryClient(), { type: 'alert', event: 'raised' })).toBe(false);
  });
});

describe('machinesCatchUp', () => {
  it('refetches machines and predictions whole after a reconnect', async () => {
    const queryClient = clientWith([
      [machineKeys.list(), []],
      [machineKeys.latestPredictions(), { machines: [] }],
    ]);
    await machinesCatchUp(queryClient);
    expect(isStale(queryClient, machineKeys.list())).toBe(true);
    expect(isStale(queryClient, machineKeys.latestPredictions())).toBe(true);
  });
});
