import { useMemo } from 'react';
import { Link, useSearchParams } from 'react-router';
import { ErrorState, Loading } from '../../../components/States.jsx';
import ConnectionStatus from '../../../components/ConnectionStatus.jsx';
import { alertOrigin } from '../../../lib/alert-source.js';
import { clockTime, since } from '../../../lib/format.js';
import { machineHealth } from '../hooks/health.js';
import { RANGES, historySourceLabel, useMachineReadings } from '../hooks/useMachineReadings.js';
import { useLatestPredictions, useMachine } from '../hooks/useMachines.js';
import HealthBadge from './HealthBadge.jsx';
import MetricChart from './MetricChart.jsx';
import { LatestHealth, LatestPrediction, PredictionHistory } from './PredictionPanel.jsx';

/**
 * The machine's open alerts, each with what raised it: the forest, an alarm rule, the health model, the
 * machine; and what the signed-in person may do with it, from `alertActions(alert)` (the route's).
 */
function OpenAlerts({ alerts, alertActions }) {
  return (
    <ul className="machine-alerts">
      {alerts.map((alert) => (
        <li key={alert.id} className="machine-alerts__item" data-source={alert.source}>
          <strong>{alert.error_code}</strong>
          {alert.error_code_title ? ` ${alert.error_code_title}` : ''}
          <span className="machine-alerts__origin">{alertOrigin(alert)}</span>
          <span className="muted small">
            {alert.status === 'acknowledged' ? 'acknowledged · ' : ''}opened {since(alert.opened_at)}
          </span>
          {alertActions && <div className="machine-alerts__actions">{alertActions(alert)}</div>}
        </li>
      ))}
    </ul>
  );
}

const METRIC_ORDER = ['vibration', 'temperature'];

function orderedMetrics(metrics) {
  const rank = (name) => (METRIC_ORDER.includes(name) ? METRIC_ORDER.indexOf(name) : METRIC_ORDER.length);
  return [...metrics].sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}

/**
 * One machine: live charts with limits, history zoom, its predictions, and (aside) its tickets.
 * `alertActions(alert)`: what may be done with each open alert (another feature's, so the route's).
 */
export default function MachinePage({ code, openAlerts = [], alertActions = null, aside = null }) {
  const machine = useMachine(code);
  const latest = useLatestPredictions();
  const [searchParams, setSearchParams] = useSearchParams();
  const rangeKey = RANGES[searchParams.get('range')] ? searchParams.get('range') : 'live';
  const { history, charts, socket, lastFrame } = useMachineReadings(code, rangeKey);
  const predictionFrom = useMemo(() => {
    // At most the last week: predictions are raw rows, one every tick, with no roll-ups to chart a month or a year from.
    const seconds = Math.min(Math.max(RANGES[rangeKey].seconds, 3600), RANGES.week.seconds);
    return new Date(Math.floor((Date.now() - seconds * 1000) / 60000) * 60000).toISOString();
  }, [rangeKey]);

  if (machine.isPending) return <Loading label={`Loading ${code}…`} />;
  if (machine.isError) {
    return (
      <section className="page">
        <ErrorState error={machine.error} onRetry={machine.refetch} title={`Could not load ${code}`} />
        <Link to="/">Back to the plant</Link>
      </section>
    );
  }
  const row = latest.data?.machines.find((entry) => entry.machine === code);
  const alerts = openAlerts.filter((entry) => entry.machine === code);
  const alert = alerts[0];
  const health = machineHealth(machine.data, { prediction: row?.prediction, threshold: latest.data?.threshold, alert });

  return (
    <section className="page machine-page">
      <nav className="breadcrumbs" aria-label="Breadcrumbs">
        <Link to="/">Plant</Link> <span aria-hidden="true">›</span> {code}
      </nav>
      <header className="page__header">
        <div>
          <h1>
            {machine.data.code} <span className="light">{machine.data.name}</span>
          </h1>
          <p className="muted">
            {machine.data.machine_type} · {machine.data.line || 'no line'}
            {machine.data.location ? ` · ${machine.data.location}` : ''}
          </p>
        </div>
        <HealthBadge health={health} />
      </header>

      <div className="machine-page__grid">
        <div className="machine-page__main">
          <div className="toolbar">
            <div className="segmented" role="group" aria-label="Time range">
              {Object.entries(RANGES).map(([key, range]) => (
                <button
                  key={key}
                  type="button"
                  aria-pressed={key === rangeKey}
                  onClick={() => setSearchParams({ range: key }, { replace: true })}
                >
                  {range.label}
                </button>
              ))}
            </div>
            <div className="toolbar__status">
              <ConnectionStatus status={socket.status} detail={socket.detail} />
              <span className="muted small" data-testid="last-reading">
                Last reading {lastFrame ? clockTime(lastFrame.ts) : '–'}
              </span>
              {history.data && (
                <span className="muted small" data-testid="history-source">
                  {historySourceLabel(history.data)}
                </span>
              )}
            </div>
          </div>
          {history.isPending && <Loading label="Loading the history…" />}
          {history.isError && (
            <ErrorState error={history.error} onRetry={history.refetch} title="Could not load the history" />
          )}
          {charts &&
            orderedMetrics(machine.data.metrics).map((spec, index) => (
              <MetricChart key={spec.name} spec={spec} columns={charts[spec.name]} index={index} />
            ))}
          {charts && !machine.data.metrics.length && (
            <p className="muted">This machine's type lists no metrics; a supervisor sets them in the admin site.</p>
          )}
        </div>
        <aside className="machine-page__side">
          {alerts.length > 0 && (
            <section className="card">
              <h2>Open alerts</h2>
              <OpenAlerts alerts={alerts} alertActions={alertActions} />
            </section>
          )}
          <section className="card">
            <h2>Prediction</h2>
            <LatestPrediction
              prediction={row?.prediction}
              threshold={latest.data?.threshold}
              sensorWarning={row?.sensor_warning}
            />
          </section>
          {row?.health && (
            <section className="card machine-page__health">
              <h2>Health</h2>
              <LatestHealth health={row.health} />
            </section>
          )}
          <section className="card">
            <h2>Failure probability</h2>
            <PredictionHistory code={code} from={predictionFrom} threshold={latest.data?.threshold} />
          </section>
          {aside}
        </aside>
      </div>
    </section>
  );
}
