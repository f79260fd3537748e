import { useState } from 'react';
import { Link } from 'react-router';
import { alertOrigin } from '../../../lib/alert-source.js';
import { rulRange, since } from '../../../lib/format.js';
import { mayAcknowledgeAlerts, mayMarkAlertsFalse } from '../../../lib/roles.js';
import { useAcknowledgeAlert, useOpenAlerts } from '../hooks/useAlerts.js';
import MarkFalseAlarm from './MarkFalseAlarm.jsx';

// The sources whose alert no model explains: their `detail` says why in words.
const DETAIL_SOURCES = ['rule', 'anomaly'];

/**
 * The why, as the API words it: the last prediction's strongest signals (after the machine's own
 * report, for a failure it reported; the rule that holds, for a rule's). An alarm rule's or the
 * health model's alert without such a list says its `detail` instead. A pushed alert shows first
 * from its frame, which has no why: the full alert is being fetched behind it. A refresh keeps the
 * why it had until the new one comes.
 */
function AlertReasons({ alert }) {
  const lines = alert.explanation?.length
    ? alert.explanation
    : DETAIL_SOURCES.includes(alert.source) && alert.detail
      ? [alert.detail]
      : null;
  if (lines) {
    return (
      <ul className="alert-banner__why">
        {lines.map((line) => (
          <li key={line}>{line}</li>
        ))}
      </ul>
    );
  }
  if (alert.explanation === undefined) {
    return <span className="alert-banner__why alert-banner__why--pending">Finding out why…</span>;
  }
  return null;
}

function AlertBannerItem({ alert, role }) {
  const acknowledge = useAcknowledgeAlert();
  return (
    <article
      className="alert-banner__item"
      data-alert-id={alert.id}
      data-machine={alert.machine}
      data-source={alert.source}
    >
      <div className="alert-banner__headline">
        <span className="alert-banner__icon" aria-hidden="true">
          !
        </span>
        <div>
          <strong>
            <Link to={`/machines/${encodeURIComponent(alert.machine)}`}>{alert.machine}</Link>
            {alert.machine_name ? ` · ${alert.machine_name}` : ''}
          </strong>{' '}
          <span className="alert-banner__code">{alert.error_code}</span>
          {alert.error_code_title ? ` ${alert.error_code_title}` : ''}
          <div className="alert-banner__meta">
            <span className="alert-banner__probability">
              {alertOrigin(alert)}
            </span>
            {alert.rul && <span className="alert-banner__rul"> · remaining life {rulRange(alert.rul)}</span>}
            {alert.opened_at && <span> · opened {since(alert.opened_at)}</span>}
          </div>
        </div>
      </div>
      <AlertReasons alert={alert} />
      <div className="alert-banner__actions">
        {mayAcknowledgeAlerts(role) && (
          <button
            type="button"
            className="button button--light"
            disabled={acknowledge.isPending}
            onClick={() => acknowledge.mutate(alert)}
          >
            {acknowledge.isPending ? 'Acknowledging…' : 'Acknowledge'}
          </button>
        )}
        {alert.ticket && mayAcknowledgeAlerts(role) && (
          <Link className="button button--ghost-light" to={`/tickets/${alert.ticket}`}>
            Ticket #{alert.ticket}
          </Link>
        )}
        {mayMarkAlertsFalse(role) && <MarkFalseAlarm alert={alert} tone="light" />}
      </div>
      {acknowledge.isError && <p className="alert-banner__error">{acknowledge.error.message}</p>}
    </article>
  );
}

// More alerts than this fold behind a "show" button, so the page under the banner stays usable.
const SHOWN = 2;

/** The red banner: every active (not yet acknowledged) failure alert, pushed over the plant socket. */
export default function AlertBanner({ role }) {
  const alerts = useOpenAlerts();
  const [expanded, setExpanded] = useState(false);
  const active = (alerts.data ?? []).filter((alert) => alert.status === 'active');
  if (!active.length) return null;
  const shown = expanded ? active : active.slice(0, SHOWN);
  const hidden = active.length - shown.length;
  return (
    <section className="alert-banner" role="alert" aria-label="Failure alerts">
      {shown.map((alert) => (
        <AlertBannerItem key={alert.id} alert={alert} role={role} />
      ))}
      {(hidden > 0 || expanded) && active.length > SHOWN && (
        <div className="alert-banner__more">
          <button type="button" className="button button--small button--ghost-light" onClick={() => setExpanded(!expanded)}>
            {expanded ? 'Show fewer' : `Show ${hidden} more alert${hidden === 1 ? '' : 's'}`}
          </button>
        </div>
      )}
    </section>
  );
}
