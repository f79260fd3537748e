import { useOfflineQueue } from '../../../lib/offline/OfflineQueueProvider.jsx';
import { REFUSED, WAITING } from '../../../lib/offline/queue.js';
import { dateTime } from '../../../lib/format.js';
import { ticketActionLabel } from '../api/offline-actions.js';

/**
 * This ticket's actions done offline: those still waiting for the network, and those the server
 * refused since (the ticket was reassigned, someone else resolved it), each with its reason, kept
 * until the technician has read it and dismisses it.
 */
export default function QueuedActions({ ticketId }) {
  const { queue, actions } = useOfflineQueue();
  const mine = actions.filter((action) => action.ticketId === Number(ticketId));
  const refused = mine.filter((action) => action.state === REFUSED);
  const waiting = mine.filter((action) => action.state === WAITING);
  if (!mine.length) return null;
  return (
    <section className="card queued-actions" aria-label="Done offline">
      {refused.length > 0 && (
        <div className="queued-actions__refused" role="alert">
          <h2>Not accepted by MaintainX</h2>
          <ul>
            {refused.map((action) => (
              <li key={action.seq} className="queued-actions__item" data-state="refused">
                <span>
                  <strong>{ticketActionLabel(action)}</strong> <span className="muted small">done {dateTime(action.doneAt)}</span>
                  <span className="queued-actions__reason">{action.reason}</span>
                </span>
                <button type="button" className="button button--small" onClick={() => queue.dismiss(action.seq)}>
                  Dismiss
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
      {waiting.length > 0 && (
        <div className="queued-actions__waiting">
          <h2>Waiting to be sent</h2>
          <ul>
            {waiting.map((action) => (
              <li key={action.seq} className="queued-actions__item" data-state="waiting">
                <strong>{ticketActionLabel(action)}</strong> <span className="muted small">done {dateTime(action.doneAt)}</span>
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
