import { useState } from 'react';
import { useTickChecklistStep } from '../hooks/useTickets.js';

/**
 * The SOP's steps as a checklist. Each tick is kept on the server (with who and when, and a line in
 * the activity); offline it waits in the tablet's queue and shows as ticked meanwhile.
 */
export default function SopChecklist({ ticket, editable }) {
  const sop = ticket.sop;
  const tick = useTickChecklistStep(ticket.id);
  // The ticks being sent, shown from the click on: set in the click's own event, so that the box
  // never shows unticked before the mutation's state arrives. The ticket's answer replaces them.
  const [sending, setSending] = useState(() => new Map());
  const ticks = new Map((ticket.checklist ?? []).map((item) => [item.step, item]));
  for (const [step, done] of sending) ticks.set(step, { step, done });
  const checked = new Set([...ticks.values()].filter((item) => item.done).map((item) => item.step));

  if (!sop) return <p className="muted">No published procedure for this error code yet; ask a supervisor.</p>;

  function toggle(order) {
    const done = !checked.has(order);
    setSending((current) => new Map(current).set(order, done));
    // mutateAsync settles for each call (mutate's own callbacks fire for the latest call only); a
    // refusal shows through tick.error below.
    tick
      .mutateAsync({ step: order, done })
      .catch(() => {})
      .finally(() =>
        setSending((current) => {
          const left = new Map(current);
          if (left.get(order) === done) left.delete(order);
          return left;
        }),
      );
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
