import { api } from '../../../lib/api-client.js';

export const OPEN_ALERT_STATUSES = ['active', 'acknowledged'];

export async function fetchOpenAlerts() {
  const page = await api.get('/api/alerts/', { status: OPEN_ALERT_STATUSES, limit: 500 });
  return page.results;
}

/** Alerts changed after `since` (any status), for a client that reconnects. */
export async function fetchAlertsChangedSince(since) {
  const page = await api.get('/api/alerts/', { since: since.toISOString(), limit: 500 });
  return page.results;
}

export const acknowledgeAlert = (id) => api.post(`/api/alerts/${id}/acknowledge/`);

/** A manager or supervisor says the alert was wrong, and why; refused (400) while a ticket answers it. */
export const markAlertFalse = (id, reason) => api.post(`/api/alerts/${id}/mark-false/`, { reason });
