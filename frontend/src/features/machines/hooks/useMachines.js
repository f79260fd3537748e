import { useQuery } from '@tanstack/react-query';
import { fetchLatestPredictions, fetchMachine, fetchMachines, fetchPredictions } from '../api/machines.js';

export const machineKeys = {
  all: ['machines'],
  list: () => ['machines', 'list'],
  detail: (code) => ['machines', 'detail', code],
  latestPredictions: () => ['predictions', 'latest'],
  predictionHistories: () => ['predictions', 'history'],
  predictions: (code, from) => ['predictions', 'history', code, from],
  readings: (code, range) => ['readings', code, range],
};

export function useMachines() {
  return useQuery({ queryKey: machineKeys.list(), queryFn: fetchMachines });
}

export function useMachine(code) {
  return useQuery({ queryKey: machineKeys.detail(code), queryFn: () => fetchMachine(code) });
}

// No polling: each predictor tick pushes a "predictions" frame, which invalidates these
// (plantEvents.js), and a reconnect refetches them.
export function useLatestPredictions() {
  return useQuery({ queryKey: machineKeys.latestPredictions(), queryFn: fetchLatestPredictions });
}

export function usePredictionHistory(code, from) {
  return useQuery({ queryKey: machineKeys.predictions(code, from), queryFn: () => fetchPredictions(code, { from }) });
}
