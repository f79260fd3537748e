import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  OPEN_ALERT_STATUSES,
  acknowledgeAlert,
  fetchAlertsChangedSince,
  fetchOpenAlerts,
  markAlertFalse,
} from '../api/alerts.js';

export const alertKeys = {
  open: ['alerts', 'open'],
};

/** The open alerts, each with its why (`explanation`) and remaining life (`rul`) from the API. */
export function useOpenAlerts({ enabled = true } = {}) {
  return useQuery({ queryKey: alertKeys.open, queryFn: fetchOpenAlerts, enabled });
}

/** Puts changed alerts into the open list: new and updated ones in place, closed ones out. */
export function alertsMerge(current, changed) {
  const byId = new Map((current ?? []).map((alert) => [alert.id, alert]));
  for (const alert of changed) {
    if (OPEN_ALERT_STATUSES.includes(alert.status)) byId.set(alert.id, { ...byId.get(alert.id), ...alert });
    else byId.delete(alert.id);
  }
  return [...byId.values()].sort((a, b) => b.probability - a.probability || a.id - b.id);
}

export function useAcknowledgeAlert() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (alert) => acknowledgeAlert(alert.id),
    onSuccess: (alert) => queryClient.setQueryData(alertKeys.open, (current) => alertsMerge(current, [alert])),
  });
}

/** `mutate({alert, reason})`: the alert comes back cleared, and leaves the open list. */
export function useMarkAlertFalse() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ alert, reason }) => markAlertFalse(alert.id, reason),
    onSuccess: (alert) => queryClient.setQueryData(alertKeys.open, (current) => alertsMerge(current, [alert])),
  });
}

/**
 * An alert frame from the plant socket. The banner shows it at once from the frame itself (machine,
 * error code, source, probability), then the full alert is fetched behind it.
 */
export function alertEventApply(queryClient, frame) {
  if (frame.type !== 'alert') return false;
  const provisional = {
    id: frame.id,
    machine: frame.machine,
    error_code: frame.error_code,
    status: frame.status,
    probability: frame.probability,
  };
  if (frame.source !== undefined) provisional.source = frame.source; // the banner says who raised it at once
  queryClient.setQueryData(alertKeys.open, (current) => alertsMerge(current ?? [], [provisional]));
  queryClient.invalidateQueries({ queryKey: alertKeys.open });
  return true;
}

/** After a reconnect: only the alerts that changed while the socket was down. */
export async function alertsCatchUp(queryClient, since) {
  const changed = await fetchAlertsChangedSince(since);
  if (changed.length) queryClient.setQueryData(alertKeys.open, (current) => alertsMerge(current ?? [], changed));
  return changed.length;
}
