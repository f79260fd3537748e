import { api } from '../../../lib/api-client.js';

/**
 * Sends one of the technician's ticket actions (lib/offline/queue.js) to the API, with its
 * Idempotency-Key; an action sent from the queue also says when it was done (`done_at`), which the
 * server keeps as the time of the action. Throws the API client's errors.
 */
export function sendTicketAction(action, { live }) {
  const id = action.ticketId;
  const payload = action.payload;
  const options = { headers: { 'Idempotency-Key': action.key } };
  const when = live ? {} : { done_at: action.doneAt };
  switch (action.type) {
    case 'start':
      return api.patch(`/api/tickets/${id}/`, { status: 'in_progress', ...when }, options);
    case 'resolve':
      return api.patch(
        `/api/tickets/${id}/`,
        {
          status: 'resolved',
          outcome: payload.outcome,
          found_failure_mode: payload.found_failure_mode,
          notes: payload.notes,
          ...when,
        },
        options,
      );
    case 'comment':
      return api.post(`/api/tickets/${id}/comments/`, { text: payload.text, ...when }, options);
    case 'tick':
      return api.put(`/api/tickets/${id}/checklist/${payload.step}/`, { done: payload.done, ...when }, options);
    case 'photo': {
      // The server keeps a photo once per ticket by its content, so a retried upload is harmless too.
      const form = new FormData();
      const { bytes, name, type } = payload.image;
      form.append('image', new File([bytes], name, { type }));
      if (payload.caption) form.append('caption', payload.caption);
      if (!live) form.append('done_at', action.doneAt);
      return api.post(`/api/tickets/${id}/photos/`, form, options);
    }
    default:
      return Promise.reject(new Error(`Unknown ticket action: ${action.type}`));
  }
}

/** How a queued action is named to the technician ("Start", "Tick step 2"…). */
export function ticketActionLabel(action) {
  const { payload } = action;
  switch (action.type) {
    case 'start':
      return 'Start work';
    case 'resolve':
      return 'Resolve';
    case 'comment':
      return `Comment "${payload.text}"`;
    case 'tick':
      return payload.done ? `Tick step ${payload.step}` : `Untick step ${payload.step}`;
    case 'photo':
      return payload.caption ? `Photo "${payload.caption}"` : 'Photo';
    default:
      return action.type;
  }
}
