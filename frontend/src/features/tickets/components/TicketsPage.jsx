import { ROLES } from '../../../lib/roles.js';
import { useTakeTicket } from '../hooks/useTickets.js';
import TicketList from './TicketList.jsx';

const OPEN = ['open', 'in_progress'];

/** Tickets nobody has, each with Take: taken, it moves up to "Assigned to me". */
function UnassignedTickets() {
  const take = useTakeTicket();
  return (
    <section className="card">
      <h2>Unassigned</h2>
      <p className="muted small">Waiting for a technician: take one to work on it, or a supervisor assigns it.</p>
      {take.isError && (
        <p className="form-error" role="alert">
          {take.error.message}
        </p>
      )}
      <TicketList
        params={{ mine: false, status: ['open'] }}
        empty="No unassigned tickets."
        rowAction={(ticket) => (
          <button
            type="button"
            className="button button--primary ticket-row__action"
            disabled={take.isPending}
            aria-label={`Take ticket #${ticket.id}`}
            onClick={() => take.mutate(ticket.id)}
          >
            {take.isPending && take.variables === ticket.id ? 'Taking…' : 'Take'}
          </button>
        )}
      />
    </section>
  );
}

/** Technicians: their tickets and the unassigned ones. Managers and supervisors: all open tickets. */
export default function TicketsPage({ user }) {
  if (user.role === ROLES.TECHNICIAN) {
    return (
      <section className="page">
        <header className="page__header">
          <div>
            <h1>My tickets</h1>
            <p className="muted">Highest priority first. Open one to read its procedure and start work.</p>
          </div>
        </header>
        <section className="card">
          <h2>Assigned to me</h2>
          <TicketList params={{ mine: true, status: OPEN }} empty="Nothing assigned to you right now." />
        </section>
        <UnassignedTickets />
        <section className="card">
          <h2>Resolved by me</h2>
          <TicketList
            params={{ mine: true, status: ['resolved'], ordering: '-updated_at', limit: 10 }}
            empty="No resolved tickets yet."
          />
        </section>
      </section>
    );
  }
  return (
    <section className="page">
      <header className="page__header">
        <div>
          <h1>Tickets</h1>
          <p className="muted">Every open ticket of the plant, highest priority first.</p>
        </div>
      </header>
      <section className="card">
        <h2>Open</h2>
        <TicketList params={{ status: OPEN }} empty="No open tickets: the plant is healthy." />
      </section>
      <section className="card">
        <h2>Recently resolved</h2>
        <TicketList
          params={{ status: ['resolved'], ordering: '-updated_at', limit: 15 }}
          empty="No resolved tickets yet."
        />
      </section>
    </section>
  );
}
