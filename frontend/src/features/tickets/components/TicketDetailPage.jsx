import { Link } from 'react-router';
import { ErrorState, Loading } from '../../../components/States.jsx';
import { alertSourceLabel } from '../../../lib/alert-source.js';
import { dateTime, percent, rulRange } from '../../../lib/format.js';
import { OUTCOMES, STATUS_LABELS, failureModeLabel } from '../api/tickets.js';
import { useTicket } from '../hooks/useTickets.js';
import EvidenceChart from './EvidenceChart.jsx';
import QueuedActions from './QueuedActions.jsx';
import SopChecklist from './SopChecklist.jsx';
import TicketActions from './TicketActions.jsx';
import TicketActivity from './TicketActivity.jsx';
import TicketPhotos from './TicketPhotos.jsx';

/** "Found Lubrication loss", with the predicted mode beside it when the technician found another. */
function FoundFailureMode({ found, predicted }) {
  if (!found) return null;
  return (
    <p className="resolution__found">
      Found <strong>{failureModeLabel(found)}</strong>
      {predicted && predicted !== found && <span className="muted"> (predicted {failureModeLabel(predicted)})</span>}
    </p>
  );
}

function Resolution({ ticket }) {
  const outcome = OUTCOMES.find((option) => option.value === ticket.outcome);
  return (
    <section className="card resolution">
      <h2>Resolution</h2>
      <p>
        <strong>{outcome?.label ?? ticket.outcome}</strong> · {dateTime(ticket.resolved_at)}
      </p>
      <FoundFailureMode found={ticket.found_failure_mode} predicted={ticket.predicted_failure_mode} />
      <p className="pre-line">{ticket.resolution_notes}</p>
    </section>
  );
}

/**
 * What raised the ticket's alert, in words: the failure forest, an alarm rule, the health model, or
 * the machine's own report; nothing for a ticket without an alert.
 */
function AlertOrigin({ source }) {
  const label = alertSourceLabel(source);
  if (!label) return null;
  return (
    <div className="ticket-page__origin" data-source={source}>
      <span className="figure-label">What raised the alert</span>
      <span className="figure-value">{label}</span>
    </div>
  );
}

export default function TicketDetailPage({ id }) {
  const ticket = useTicket(id);
  if (ticket.isPending) return <Loading label={`Loading ticket #${id}…`} />;
  if (ticket.isError) {
    return (
      <section className="page">
        <ErrorState error={ticket.error} onRetry={ticket.refetch} title={`Could not load ticket #${id}`} />
        {/* A ticket reassigned while the tablet was offline is gone from this technician's view: what
            they did on it is still shown, with the reason it was not accepted. */}
        <QueuedActions ticketId={id} />
        <Link to="/tickets">Back to the tickets</Link>
      </section>
    );
  }
  const data = ticket.data;
  const working = data.status === 'in_progress' && data.actions?.includes('resolve');
  return (
    <section className="page ticket-page" data-ticket-status={data.status}>
      <nav className="breadcrumbs" aria-label="Breadcrumbs">
        <Link to="/tickets">Tickets</Link> <span aria-hidden="true">›</span> #{data.id}
      </nav>
      <header className="page__header">
        <div>
          <h1>
            #{data.id} {data.title}
          </h1>
          <p className="muted">
            <Link to={`/machines/${encodeURIComponent(data.machine)}`}>
              {data.machine} · {data.machine_name}
            </Link>{' '}
            · {data.error_code ?? 'no error code'} · opened {dateTime(data.opened_at)} ·{' '}
            {data.assignee ? `assigned to ${data.assignee.full_name || data.assignee.username}` : 'unassigned'}
          </p>
        </div>
        <div className="ticket-page__badges">
          <span className={`priority priority--${data.priority}`}>{data.priority_display}</span>
          <span className={`status status--${data.status}`}>{STATUS_LABELS[data.status] ?? data.status}</span>
        </div>
      </header>

      <div className="ticket-page__grid">
        <div className="ticket-page__main">
          <QueuedActions ticketId={data.id} />
          <TicketActions ticket={data} />
          {data.status === 'resolved' && <Resolution ticket={data} />}
          <section className="card">
            <h2>Procedure</h2>
            <SopChecklist ticket={data} editable={working} />
          </section>
          <section className="card">
            <h2>Photos</h2>
            <TicketPhotos ticket={data} />
          </section>
          <section className="card">
            <h2>Activity</h2>
            <TicketActivity ticket={data} />
          </section>
        </div>
        <aside className="ticket-page__side">
          <section className="card">
            <h2>Why this ticket</h2>
            {data.description && <p className="pre-line">{data.description}</p>}
            <AlertOrigin source={data.alert_source} />
            <div className="figures-row">
              <div>
                <span className="figure-label">Failure probability</span>
                <span className="figure-value">{percent(data.probability)}</span>
              </div>
              <div>
                <span className="figure-label">Remaining life</span>
                <span className="figure-value">{rulRange(data.rul)}</span>
              </div>
            </div>
            {data.explanation?.length > 0 && (
              <ul className="why-list">
                {data.explanation.map((line) => (
                  <li key={line}>{line}</li>
                ))}
              </ul>
            )}
          </section>
          <section className="card">
            <h2>Evidence</h2>
            <EvidenceChart evidence={data.evidence} />
          </section>
        </aside>
      </div>
    </section>
  );
}
