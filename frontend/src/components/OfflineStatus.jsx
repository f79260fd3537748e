import { Link } from 'react-router';
import { useOfflineQueue, useOnline } from '../lib/offline/OfflineQueueProvider.jsx';
import { REFUSED, WAITING } from '../lib/offline/queue.js';

const plural = (count, one, many) => `${count} ${count === 1 ? one : many}`;

/**
 * The tablet's offline work in the top bar: offline and how many actions wait, syncing, and the
 * actions the server refused (linking to the ticket, where the reason is shown).
 */
export default function OfflineStatus() {
  const online = useOnline();
  const { actions, syncing, problem } = useOfflineQueue();
  const waiting = actions.filter((action) => action.state === WAITING).length;
  const refused = actions.filter((action) => action.state === REFUSED);
  const parts = [];
  if (!online) {
    parts.push(
      <span key="offline" className="offline-status__pill offline-status__pill--offline" data-offline-state="offline">
        Offline{waiting ? `: ${plural(waiting, 'action', 'actions')} waiting` : ''}
      </span>,
    );
  } else if (waiting) {
    parts.push(
      <span
        key="syncing"
        className="offline-status__pill offline-status__pill--syncing"
        data-offline-state={syncing ? 'syncing' : 'waiting'}
        title={problem ?? undefined}
      >
        {syncing ? `Syncing ${plural(waiting, 'action', 'actions')}…` : `${plural(waiting, 'action', 'actions')} waiting`}
      </span>,
    );
  }
  if (refused.length) {
    parts.push(
      <Link
        key="refused"
        to={`/tickets/${refused[0].ticketId}`}
        className="offline-status__pill offline-status__pill--refused"
        data-offline-state="refused"
      >
        {plural(refused.length, 'action', 'actions')} not accepted
      </Link>,
    );
  }
  if (!parts.length) return null;
  return (
    <span className="offline-status" role="status" aria-live="polite">
      {parts}
    </span>
  );
}
