import { Link } from 'react-router';
import { alertSourceLabel } from '../../../lib/alert-source.js';
import { number, percent, rulRange, since } from '../../../lib/format.js';
import { readingLevel } from '../hooks/health.js';
import { useLatestReading } from '../hooks/liveReadings.js';
import HealthBadge from './HealthBadge.jsx';
import HealthScore from './HealthScore.jsx';

function LiveValues({ machine }) {
  const reading = useLatestReading(machine.code);
  if (!reading) return <p className="card__live muted">Waiting for readings…</p>;
  const specs = Object.fromEntries(machine.metrics.map((metric) => [metric.name, metric]));
  return (
    <dl className="card__live" data-live-ts={reading.ts}>
      {['vibration', 'temperature']
        .filter((name) => reading.metrics[name] !== undefined)
        .map((name) => (
          <div key={name}>
            <dt>{name}</dt>
            <dd className={`level--${readingLevel(specs[name], reading.metrics[name])}`}>
              {number(reading.metrics[name], name === 'temperature' ? 1 : 2)} <small>{specs[name]?.unit}</small>
            </dd>
          </div>
        ))}
    </dl>
  );
}

/**
 * One machine on the plant grid. `health` is its state as the grid colours it (health.js); its health
 * model's score (`healthModel`, from the latest predictions, null without one) shows beside the
 * failure risk.
 */
export default function MachineCard({ machine, health, healthModel = null, prediction, sensorWarning, alert }) {
  const rul = prediction && {
    hours: prediction.rul_hours,
    low_hours: prediction.rul_low_hours,
    high_hours: prediction.rul_high_hours,
  };
  return (
    <Link
      to={`/machines/${encodeURIComponent(machine.code)}`}
      className={`machine-card machine-card--${health}`}
      data-machine={machine.code}
      data-health={health}
    >
      <div className="machine-card__head">
        <div>
          <div className="machine-card__code">{machine.code}</div>
          <div className="machine-card__name">{machine.name}</div>
        </div>
        <HealthBadge health={health} />
      </div>
      <div className="machine-card__figures">
        <div>
          <span className="figure-label">Failure risk</span>
          <span className="figure-value">{percent(prediction?.failure_probability)}</span>
          <HealthScore health={healthModel} className="machine-card__health" />
        </div>
        <div>
          <span className="figure-label">Remaining life</span>
          <span className="figure-value">{rulRange(rul)}</span>
        </div>
      </div>
      <LiveValues machine={machine} />
      <div className="machine-card__foot">
        {alert ? (
          <span className="machine-card__alert">
            {alert.error_code}
            {alertSourceLabel(alert.source) ? ` · ${alertSourceLabel(alert.source)}` : ''}
            {alert.status === 'acknowledged' ? ' (acknowledged)' : ''}
          </span>
        ) : sensorWarning ? (
          <span className="machine-card__warning" title={sensorWarning.detail}>
            Sensor: {sensorWarning.problem_display}
          </span>
        ) : (
          <span className="muted">
            {machine.machine_type} · {machine.line || 'no line'}
          </span>
        )}
        <span className="muted">{since(machine.status_changed_at)}</span>
      </div>
    </Link>
  );
}
