import { Link } from 'react-router';
import { EmptyState, QueryState } from '../../../components/States.jsx';
import { since } from '../../../lib/format.js';
import { STATUS_LABELS } from '../api/tickets.js';
import { useTickets, useTicketsKeptForOffline } from '../hooks/useTickets.js';

/** One ticket, linked to its page; `action` (a button) sits beside the link, not inside it. */
export function TicketRow({ ticket, action = null }) {
  return (
    <li className={action ? 'ticket-list__item ticket-list__item--with-action' : 'ticket-list__item'}>
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
      {action}
    </li>
  );
}

/** Tickets matching `params` (the API's filters), or the empty message; `rowAction(ticket)` adds a button to each. */
export default function TicketList({ params, empty, loading = 'Loading tickets…', rowAction }) {
  const tickets = useTickets(params);
  useTicketsKeptForOffline(tickets.data, params.mine === true);
  return (
    <QueryState query={tickets} loading={loading} errorTitle="Could not load tickets">
      {(page) =>
        page.results.length ? (
          <ul className="ticket-list">
            {page.results.map((ticket) => (
              <TicketRow key={ticket.id} ticket={ticket} action={rowAction?.(ticket)} />
            ))}
          </ul>
        ) : (
          <EmptyState title={empty} />
        )
      }
    </QueryState>
  );
}
