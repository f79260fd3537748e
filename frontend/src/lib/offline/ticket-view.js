// A ticket as the technician sees it with their queued actions applied: the page shows the work
// done offline (started, steps ticked, resolved) before the server has it, each marked as waiting.

import { WAITING } from './queue.js';

const STARTED_ACTIONS = ['resolve', 'comment', 'add_photo'];

function queuedEvent(action, fields) {
  // Only the signed-in technician queues actions on this tablet.
  return { at: action.doneAt, received_at: null, actor: 'you', photo: null, queued: true, ...fields };
}

/** `ticket` with `tick` ({step, done, ...}) in its checklist in place of that step's earlier one. */
export function ticketWithTick(ticket, tick) {
  const others = (ticket.checklist ?? []).filter((kept) => kept.step !== tick.step);
  return { ...ticket, checklist: [...others, tick].sort((a, b) => a.step - b.step) };
}

function applied(ticket, action) {
  const { payload } = action;
  switch (action.type) {
    case 'start':
      return {
        ...ticket,
        status: 'in_progress',
        started_at: action.doneAt,
        actions: [...new Set([...ticket.actions.filter((name) => name !== 'start'), ...STARTED_ACTIONS])],
        events: [...ticket.events, queuedEvent(action, { kind: 'status_changed', from_status: 'open', to_status: 'in_progress', note: '' })],
      };
    case 'resolve':
      return {
        ...ticket,
        status: 'resolved',
        outcome: payload.outcome,
        found_failure_mode: payload.found_failure_mode ?? '',
        resolution_notes: payload.notes,
        resolved_at: action.doneAt,
        actions: ticket.actions.filter((name) => name !== 'resolve'),
        events: [
          ...ticket.events,
          queuedEvent(action, { kind: 'status_changed', from_status: 'in_progress', to_status: 'resolved', note: payload.notes }),
        ],
      };
    case 'tick':
      return ticketWithTick(ticket, { step: payload.step, done: payload.done, done_at: action.doneAt, done_by: null, queued: true });
    case 'comment':
      return { ...ticket, events: [...ticket.events, queuedEvent(action, { kind: 'commented', note: payload.text })] };
    case 'photo':
      return {
        ...ticket,
        events: [...ticket.events, queuedEvent(action, { kind: 'photo_added', note: payload.caption ?? '' })],
      };
    default:
      return ticket;
  }
}

/** `ticket` (from the server) with the queue's waiting actions for it applied, oldest first. */
export function ticketWithQueued(ticket, actions) {
  if (!ticket) return ticket;
  return actions
    .filter((action) => action.state === WAITING && action.ticketId === ticket.id)
    .reduce(applied, { ...ticket, actions: ticket.actions ?? [], events: ticket.events ?? [] });
}
