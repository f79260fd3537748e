import TimeSeriesChart from '../../../components/TimeSeriesChart.jsx';
import { EmptyState, QueryState } from '../../../components/States.jsx';
import { dateTime, percent, rulRange } from '../../../lib/format.js';
import { healthScoreLow, healthScoreValue, learningProgress } from '../hooks/health.js';
import { usePredictionHistory } from '../hooks/useMachines.js';

export function LatestPrediction({ prediction, threshold, sensorWarning }) {
  if (!prediction) {
    return (
      <EmptyState title="No prediction yet">The predictor scores every running machine every few seconds.</EmptyState>
    );
  }
  const atRisk = threshold !== undefined && prediction.failure_probability >= threshold;
  return (
    <div className={`prediction ${atRisk ? 'prediction--risk' : ''}`}>
      <div className="prediction__figures">
        <div>
          <span className="figure-label">Failure probability (24 h)</span>
          <span className="figure-value figure-value--large">{percent(prediction.failure_probability)}</span>
        </div>
        <div>
          <span className="figure-label">Remaining useful life</span>
          <span className="figure-value">
            {rulRange({
              hours: prediction.rul_hours,
              low_hours: prediction.rul_low_hours,
              high_hours: prediction.rul_high_hours,
            })}
          </span>
        </div>
        <div>
          <span className="figure-label">Most likely failure</span>
          <span className="figure-value">
            {prediction.error_code ? `${prediction.error_code} ${prediction.error_title ?? ''}` : '–'}
          </span>
        </div>
      </div>
      {prediction.top_signals?.length > 0 && (
        <div className="prediction__why">
          <span className="figure-label">Why</span>
          <ul>
            {prediction.top_signals.map((signal) => (
              <li key={signal}>{signal}</li>
            ))}
          </ul>
        </div>
      )}
      {sensorWarning && (
        <p className="notice notice--warning">
          Sensor problem since {dateTime(sensorWarning.detected_at)}: {sensorWarning.problem_display} (
          {sensorWarning.detail}). The predictor skips this machine until its sensors look right.
        </p>
      )}
      <p className="muted small">
        Model {prediction.model_version}
        {prediction.rul_model_version ? ` · RUL model ${prediction.rul_model_version}` : ''} · scored{' '}
        {dateTime(prediction.ts)}
      </p>
    </div>
  );
}

/**
 * The machine's health model, learned from its own normal data: its score (100 its usual self, below
 * 50 departing from it) with what departs, when it became ready and was last relearned; or, while it
 * still learns, how far it has come. Nothing for a machine without one (`health` null).
 */
export function LatestHealth({ health }) {
  if (!health) return null;
  if (health.state === 'learning') {
    return (
      <div className="health health--learning">
        <p className="health__learning">{learningProgress(health)}</p>
        <progress
          className="health__progress"
          max={health.required_days}
          value={Math.min(health.learned_days ?? 0, health.required_days)}
          aria-label="Normal behaviour learned"
        />
        <p className="muted small">
          The health model learns this machine&apos;s normal from its own readings, and scores it once it has learned{' '}
          {health.required_days} days of them.
          {health.last_relearned_at ? ` Last relearned ${dateTime(health.last_relearned_at)}.` : ''}
        </p>
      </div>
    );
  }
  const value = healthScoreValue(health.score);
  const low = healthScoreLow(health.score);
  return (
    <div className={`health ${low ? 'health--low' : ''}`}>
      <div>
        <span className="figure-label">Health score</span>
        <span className="figure-value figure-value--large" data-health-score={value ?? ''}>
          {value ?? '–'}
          {value !== null && <small className="health__of"> of 100</small>}
        </span>
        <span className="health__verdict">
          {value === null
            ? 'not scored yet'
            : low
              ? 'below its normal (alarm under 50)'
              : 'within its normal (alarm under 50)'}
        </span>
      </div>
      {health.departures?.length > 0 && (
        <div className="health__departures">
          <span className="figure-label">Departing from its normal</span>
          <ul className="why-list">
            {health.departures.map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
        </div>
      )}
      <p className="muted small">
        Ready since {dateTime(health.ready_since)} ·{' '}
        {health.last_relearned_at ? `last relearned ${dateTime(health.last_relearned_at)}` : 'not relearned yet'}
        {health.scored_at ? ` · scored ${dateTime(health.scored_at)}` : ''}
      </p>
    </div>
  );
}

/** The failure probability over the range, with the alert threshold drawn. */
export function PredictionHistory({ code, from, threshold }) {
  const history = usePredictionHistory(code, from);
  return (
    <QueryState query={history} loading="Loading predictions…" errorTitle="Could not load predictions">
      {(predictions) => {
        if (!predictions.length) return <p className="chart-empty">No predictions in this range.</p>;
        const ordered = [...predictions].reverse();
        const data = [
          ordered.map((p) => Date.parse(p.ts) / 1000),
          ordered.map((p) => Math.round(p.failure_probability * 1000) / 10),
        ];
        return (
          <TimeSeriesChart
            data={data}
            series={[{ label: 'failure probability', stroke: '#dc2626', width: 2 }]}
            thresholds={threshold !== undefined ? [{ label: 'alert', value: threshold * 100, color: '#dc2626' }] : []}
            unit="%"
            height={160}
            label="Failure probability over time"
          />
        );
      }}
    </QueryState>
  );
}
