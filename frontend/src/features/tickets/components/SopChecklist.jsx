import { useEffect, useState } from 'react';

function storageKey(ticketId) {
  return `maintainx.sop-checklist.${ticketId}`;
}

function loadChecked(ticketId) {
  try {
    return new Set(JSON.parse(window.localStorage.getItem(storageKey(ticketId)) ?? '[]'));
  } catch {
    return new Set();
  }
}

/**
 * The SOP's steps as a checklist. Ticks are the technician's own progress on this device (kept in
 * the browser), not a record: the ticket's audit trail holds what was done.
 */
export default function SopChecklist({ ticketId, sop, editable }) {
  const [checked, setChecked] = useState(() => loadChecked(ticketId));

  useEffect(() => {
    try {
      window.localStorage.setItem(storageKey(ticketId), JSON.stringify([...checked]));
    } catch {
      // Private mode or a full storage: the ticks last as long as the page.
    }
  }, [ticketId, checked]);

  if (!sop) return <p className="muted">No published procedure for this error code yet; ask a supervisor.</p>;

  function toggle(order) {
    setChecked((current) => {
      const next = new Set(current);
      if (next.has(order)) next.delete(order);
      else next.add(order);
      return next;
    });
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
          <li key={step.order} className={checked.has(step.order) ? 'sop__step sop__step--done' : 'sop__step'}>
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
              </span>
            </label>
          </li>
        ))}
      </ol>
    </div>
  );
}
