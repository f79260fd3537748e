import { Link } from 'react-router';
import { EmptyState, QueryState } from '../../../components/States.jsx';
import { since } from '../../../lib/format.js';
import { STATUS_LABELS } from '../api/tickets.js';
import { useTickets } from '../hooks/useTickets.js';

export function TicketRow({ ticket }) {
  return (
    <li>
      <Link to={`/tickets/${ticket.id}`} className="ticket-row" data-ticket-id={ticket.id}>
        <span className={`priority priority--${ticket.priority}`} title={`Priority: ${ticket.priority_display}`}>
          {ticket.priority_display}
        </span>
        <span className="ticket-row__main">
          <span className="ticket-row__title">
            #{ticket.id} {ticket.title}
          </span>
          <span className="muted small">
            {ticket.machine} · {ticket.error_code ?? 'no error code'} ·{' '}
            {ticket.assignee ? ticket.assignee.full_name || ticket.assignee.username : 'unassigned'} · opened{' '}
            {since(ticket.opened_at)}
          </span>
        </span>
        <span className={`status status--${ticket.status}`}>{STATUS_LABELS[ticket.status] ?? ticket.status}</span>
      </Link>
    </li>
  );
}

/** Tickets matching `params` (the API's filters), or the empty message. */
export default function TicketList({ params, empty, loading = 'Loading tickets…' }) {
  const tickets = useTickets(params);
  return (
    <QueryState query={tickets} loading={loading} errorTitle="Could not load tickets">
      {(page) =>
        page.results.length ? (
          <ul className="ticket-list">
            {page.results.map((ticket) => (
              <TicketRow key={ticket.id} ticket={ticket} />
            ))}
          </ul>
        ) : (
          <EmptyState title={empty} />
        )
      }
    </QueryState>
  );
}
