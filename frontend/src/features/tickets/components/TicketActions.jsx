import { useId, useState } from 'react';
import { FAILURE_MODES, FOUND_FAILURE_OUTCOMES, OUTCOMES, failureModeLabel } from '../api/tickets.js';
import { useResolveTicket, useStartTicket, useTakeTicket } from '../hooks/useTickets.js';

/**
 * What the technician found: offered as the predicted failure mode, so agreeing costs nothing and a
 * wrong prediction is corrected where it is seen. A false alarm found none, so it is not asked.
 */
function FoundFailureMode({ predicted, value, onChange }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={`${id}-select`}>What did you find?</label>
      <select
        id={`${id}-select`}
        name="found_failure_mode"
        value={value}
        onChange={(event) => onChange(event.target.value)}
        aria-describedby={`${id}-help`}
        required
      >
        {!predicted && <option value="">Choose the failure mode…</option>}
        {FAILURE_MODES.map((mode) => (
          <option key={mode.value} value={mode.value}>
            {mode.label}
          </option>
        ))}
      </select>
      <span id={`${id}-help`} className="muted small">
        {predicted
          ? `Predicted: ${failureModeLabel(predicted)}. Change it if you found something else.`
          : 'No failure mode was predicted for this ticket.'}
      </span>
    </div>
  );
}

function ResolveForm({ ticket }) {
  const resolve = useResolveTicket(ticket.id);
  const predicted = ticket.predicted_failure_mode ?? '';
  const [outcome, setOutcome] = useState('');
  const [foundFailureMode, setFoundFailureMode] = useState(predicted);
  const [notes, setNotes] = useState('');
  // Before an outcome is picked the question shows too: most tickets end with something found.
  const asksFound = outcome !== 'false_alarm';
  const missingFound = FOUND_FAILURE_OUTCOMES.includes(outcome) && !foundFailureMode;

  function submit(event) {
    event.preventDefault();
    resolve.mutate({ outcome, foundFailureMode: asksFound ? foundFailureMode : '', notes });
  }

  return (
    <form className="resolve-form" onSubmit={submit} aria-label="Resolve the ticket">
      <fieldset>
        <legend>Outcome</legend>
        {OUTCOMES.map((option) => (
          <label key={option.value} className="choice">
            <input
              type="radio"
              name="outcome"
              value={option.value}
              checked={outcome === option.value}
              onChange={() => setOutcome(option.value)}
              required
            />
            <span>
              <strong>{option.label}</strong>
              <span className="muted small">{option.help}</span>
            </span>
          </label>
        ))}
      </fieldset>
      {asksFound && <FoundFailureMode predicted={predicted} value={foundFailureMode} onChange={setFoundFailureMode} />}
      <label className="field">
        <span>Notes: what you found and what you did</span>
        <textarea name="notes" rows={4} value={notes} onChange={(event) => setNotes(event.target.value)} required />
      </label>
      {resolve.isError && (
        <p className="form-error" role="alert">
          {resolve.error.message}
        </p>
      )}
      <button
        type="submit"
        className="button button--primary"
        disabled={resolve.isPending || !outcome || missingFound || !notes.trim()}
      >
        {resolve.isPending ? 'Resolving…' : 'Resolve ticket'}
      </button>
    </form>
  );
}

function TakeButton({ ticket, take, large }) {
  return (
    <button
      type="button"
      className={large ? 'button button--primary button--large' : 'button'}
      disabled={take.isPending}
      onClick={() => take.mutate(ticket.id)}
    >
      {take.isPending ? 'Taking…' : 'Take ticket'}
    </button>
  );
}

/** What the signed-in user may do with the ticket now, as the API says (`actions`). */
export default function TicketActions({ ticket }) {
  const start = useStartTicket(ticket.id);
  const take = useTakeTicket();
  const actions = ticket.actions ?? [];
  const takeError = take.isError && (
    <p className="form-error" role="alert">
      {take.error.message}
    </p>
  );

  if (actions.includes('start')) {
    return (
      <section className="card ticket-actions">
        <p>Start when you are at the machine: it is marked under maintenance.</p>
        <div className="ticket-actions__buttons">
          <button
            type="button"
            className="button button--primary button--large"
            disabled={start.isPending}
            onClick={() => start.mutate()}
          >
            {start.isPending ? 'Starting…' : 'Start work'}
          </button>
          {/* A supervisor may start any ticket; taking one nobody has also makes it theirs. */}
          {actions.includes('take') && <TakeButton ticket={ticket} take={take} />}
        </div>
        {start.isError && (
          <p className="form-error" role="alert">
            {start.error.message}
          </p>
        )}
        {takeError}
      </section>
    );
  }
  if (actions.includes('take')) {
    return (
      <section className="card ticket-actions">
        <p>Nobody has this ticket yet. Take it to work on it: it becomes yours to start and resolve.</p>
        <TakeButton ticket={ticket} take={take} large />
        {takeError}
      </section>
    );
  }
  if (actions.includes('resolve')) {
    return (
      <section className="card ticket-actions">
        <ResolveForm ticket={ticket} />
      </section>
    );
  }
  if (ticket.status === 'resolved') return null;
  return (
    <p className="notice">
      {ticket.assignee
        ? `Assigned to ${ticket.assignee.full_name || ticket.assignee.username}: only they or a supervisor work on it.`
        : 'Not assigned yet: a supervisor assigns it to a technician.'}
    </p>
  );
}
