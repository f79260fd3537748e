import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { fetchPredictionQuality, fetchReport } from '../api/reports.js';

export const reportKeys = {
  all: ['reports'],
  summary: (period) => ['reports', 'summary', period],
  predictionQuality: (months) => ['reports', 'prediction-quality', months],
};

export function useReport(period) {
  return useQuery({
    queryKey: reportKeys.summary(period),
    queryFn: () => fetchReport(period),
    placeholderData: keepPreviousData,
  });
}

export function usePredictionQuality(months) {
  return useQuery({
    queryKey: reportKeys.predictionQuality(months),
    queryFn: () => fetchPredictionQuality({ months }),
    placeholderData: keepPreviousData,
  });
}
