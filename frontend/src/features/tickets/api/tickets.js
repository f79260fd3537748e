import { api } from '../../../lib/api-client.js';

export const fetchTickets = (params) => api.get('/api/tickets/', { limit: 100, ...params });

export const fetchTicket = (id) => api.get(`/api/tickets/${id}/`);

// Start, resolve, comment, checklist ticks and photos go through ./offline-actions.js, which works offline.

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

// The outcomes where the technician found a failure and says which failure mode (tickets/models.py).
export const FOUND_FAILURE_OUTCOMES = ['failure_confirmed', 'preventive_fix'];

// The catalogue's failure modes (catalogue/failure_modes.py), in its order.
export const FAILURE_MODES = [
  { value: 'bearing_wear', label: 'Bearing wear' },
  { value: 'overheating', label: 'Overheating' },
  { value: 'imbalance', label: 'Imbalance / misalignment' },
  { value: 'lubrication_loss', label: 'Lubrication loss' },
  { value: 'electrical_fault', label: 'Electrical fault' },
  { value: 'other', label: 'Other' },
];

export const failureModeLabel = (value) => FAILURE_MODES.find((mode) => mode.value === value)?.label ?? value;

export const STATUS_LABELS = { open: 'Open', in_progress: 'In progress', resolved: 'Resolved' };
