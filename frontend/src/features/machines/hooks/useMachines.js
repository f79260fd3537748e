import { useQuery } from '@tanstack/react-query';
import { fetchLatestPredictions, fetchMachine, fetchMachines, fetchPredictions } from '../api/machines.js';

export const machineKeys = {
  all: ['machines'],
  list: () => ['machines', 'list'],
  detail: (code) => ['machines', 'detail', code],
  latestPredictions: () => ['predictions', 'latest'],
  predictions: (code, from) => ['predictions', 'history', code, from],
  readings: (code, range) => ['readings', code, range],
};

export function useMachines() {
  return useQuery({ queryKey: machineKeys.list(), queryFn: fetchMachines });
}

export function useMachine(code) {
  return useQuery({ queryKey: machineKeys.detail(code), queryFn: () => fetchMachine(code) });
}

// Predictions are not pushed (the predictor scores every few seconds): the grid refreshes them.
const PREDICTION_REFRESH_MS = 10_000;

export function useLatestPredictions() {
  return useQuery({
    queryKey: machineKeys.latestPredictions(),
    queryFn: fetchLatestPredictions,
    refetchInterval: PREDICTION_REFRESH_MS,
  });
}

export function usePredictionHistory(code, from) {
  return useQuery({
    queryKey: machineKeys.predictions(code, from),
    queryFn: () => fetchPredictions(code, { from }),
    refetchInterval: PREDICTION_REFRESH_MS,
  });
}
