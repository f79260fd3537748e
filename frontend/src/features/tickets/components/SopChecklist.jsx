import { useTickChecklistStep } from '../hooks/useTickets.js';

/**
 * The SOP's steps as a checklist. Each tick is kept on the server (with who and when, and a line in
 * the activity); offline it waits in the tablet's queue and shows as ticked meanwhile.
 */
export default function SopChecklist({ ticket, editable }) {
  const sop = ticket.sop;
  const tick = useTickChecklistStep(ticket.id);
  const ticks = new Map((ticket.checklist ?? []).map((item) => [item.step, item]));
  // The tick being sent shows at once; the ticket's answer replaces it.
  if (tick.isPending) ticks.set(tick.variables.step, tick.variables);
  const checked = new Set([...ticks.values()].filter((item) => item.done).map((item) => item.step));

  if (!sop) return <p className="muted">No published procedure for this error code yet; ask a supervisor.</p>;

  function toggle(order) {
    tick.mutate({ step: order, done: !checked.has(order) });
  }

  const done = sop.steps.filter((step) => checked.has(step.order)).length;
  return (
    <div className="sop">
      <div className="sop__head">
        <div>
          <strong>{sop.title}</strong> <span className="muted small">v{sop.version}</span>
          {sop.summary && <p className="muted">{sop.summary}</p>}
        </div>
        <span className="sop__progress" aria-label="Steps done">
          {done} / {sop.steps.length} steps{sop.estimated_minutes ? ` · about ${sop.estimated_minutes} min` : ''}
        </span>
      </div>
      <ol className="sop__steps">
        {sop.steps.map((step) => (
          <li
            key={step.order}
            className={checked.has(step.order) ? 'sop__step sop__step--done' : 'sop__step'}
            data-waiting={ticks.get(step.order)?.queued ? 'true' : undefined}
          >
            <label>
              <input
                type="checkbox"
                checked={checked.has(step.order)}
                disabled={!editable}
                onChange={() => toggle(step.order)}
              />
              <span className="sop__text">
                {step.warning && <span className="sop__warning">⚠ {step.warning}</span>}
                <span>{step.instruction}</span>
                {(step.tools.length > 0 || step.estimated_minutes) && (
                  <span className="muted small">
                    {step.tools.length > 0 && `Tools: ${step.tools.join(', ')}`}
                    {step.tools.length > 0 && step.estimated_minutes ? ' · ' : ''}
                    {step.estimated_minutes ? `${step.estimated_minutes} min` : ''}
                  </span>
                )}
                {ticks.get(step.order)?.queued && <span className="muted small">Waiting to be sent</span>}
              </span>
            </label>
          </li>
        ))}
      </ol>
      {tick.isError && (
        <p className="form-error" role="alert">
          {tick.error.message}
        </p>
      )}
    </div>
  );
}
