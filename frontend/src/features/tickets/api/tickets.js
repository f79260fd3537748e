import { api } from '../../../lib/api-client.js';

export const fetchTickets = (params) => api.get('/api/tickets/', { limit: 100, ...params });

export const fetchTicket = (id) => api.get(`/api/tickets/${id}/`);

/** `{status: "in_progress"}` starts it; `{status: "resolved", outcome, notes}` resolves it. */
export const changeTicketStatus = (id, change) => api.patch(`/api/tickets/${id}/`, change);

export const commentOnTicket = (id, text) => api.post(`/api/tickets/${id}/comments/`, { text });

/** An open ticket nobody has becomes mine; answers the ticket as I now see it. */
export const takeTicket = (id) => api.post(`/api/tickets/${id}/take/`);

export async function fetchTicketsChangedSince(since) {
  const page = await api.get('/api/tickets/', { since: since.toISOString(), limit: 500 });
  return page.results;
}

export const OUTCOMES = [
  { value: 'failure_confirmed', label: 'Failure confirmed', help: 'The fault was real and has been repaired' },
  { value: 'preventive_fix', label: 'Preventive fix', help: 'Wear found and fixed before it failed' },
  { value: 'false_alarm', label: 'False alarm', help: 'Nothing wrong was found' },
];

export const STATUS_LABELS = { open: 'Open', in_progress: 'In progress', resolved: 'Resolved' };
