import { useState } from 'react';
import { useMarkAlertFalse } from '../hooks/useAlerts.js';

/**
 * "Mark as false alarm": asks why, then clears the alert on the server, which keeps who, when and
 * why as a label for the models. The server refuses an alert that a ticket answers (that ticket is
 * resolved as a false alarm instead); its words are shown as they are, and the reason stays typed.
 * `tone="light"` on the red banner, plain elsewhere.
 */
export default function MarkFalseAlarm({ alert, tone = 'plain' }) {
  const markFalse = useMarkAlertFalse();
  const [asking, setAsking] = useState(false);
  const [reason, setReason] = useState('');
  const light = tone === 'light';

  if (!asking) {
    return (
      <button type="button" className={light ? 'button button--ghost-light' : 'button'} onClick={() => setAsking(true)}>
        Mark as false alarm
      </button>
    );
  }

  function submit(event) {
    event.preventDefault();
    markFalse.mutate({ alert, reason: reason.trim() });
  }

  function cancel() {
    setAsking(false);
    setReason('');
    markFalse.reset();
  }

  return (
    <form
      className={light ? 'mark-false mark-false--light' : 'mark-false'}
      onSubmit={submit}
      aria-label={`Mark alert ${alert.error_code} on ${alert.machine} as a false alarm`}
    >
      <label className="field">
        <span>Why was it a false alarm?</span>
        <textarea name="reason" rows={2} value={reason} onChange={(event) => setReason(event.target.value)} required />
      </label>
      {markFalse.isError && (
        <p className="form-error" role="alert">
          {markFalse.error.message}
        </p>
      )}
      <div className="mark-false__buttons">
        <button
          type="submit"
          className={light ? 'button button--light' : 'button button--primary'}
          disabled={markFalse.isPending || !reason.trim()}
        >
          {markFalse.isPending ? 'Marking…' : 'Mark false'}
        </button>
        <button type="button" className={light ? 'button button--ghost-light' : 'button'} onClick={cancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
