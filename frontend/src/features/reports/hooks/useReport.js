import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { fetchReport } from '../api/reports.js';

export const reportKeys = { all: ['reports'], summary: (period) => ['reports', 'summary', period] };

export function useReport(period) {
  return useQuery({
    queryKey: reportKeys.summary(period),
    queryFn: () => fetchReport(period),
    placeholderData: keepPreviousData,
  });
}
