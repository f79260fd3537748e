import TimeSeriesChart from '../../../components/TimeSeriesChart.jsx';
import { dateTime } from '../../../lib/format.js';

const COLORS = { vibration: '#2563eb', temperature: '#ea580c' };

/** The readings the model saw when it raised the alert, frozen on the ticket (per-minute mean, min, max). */
export default function EvidenceChart({ evidence }) {
  const window_ = evidence?.window;
  const metrics = Object.entries(window_?.metrics ?? {});
  if (!metrics.length) return <p className="muted">No readings were kept with this ticket.</p>;
  return (
    <div className="evidence">
      <p className="muted small">
        {dateTime(window_.from)} – {dateTime(window_.to)}, per minute
        {evidence.prediction ? ` · model ${evidence.prediction.model_version}` : ''}
      </p>
      {metrics.map(([metric, rows]) => {
        const color = COLORS[metric] ?? '#0d9488';
        const data = [
          rows.map((row) => Date.parse(row[0]) / 1000 + 30),
          rows.map((row) => row[1]),
          rows.map((row) => row[2]),
          rows.map((row) => row[3]),
        ];
        return (
          <figure key={metric} className="evidence__chart">
            <figcaption>{metric.replaceAll('_', ' ')}</figcaption>
            <TimeSeriesChart
              data={data}
              series={[
                { label: metric, stroke: color, width: 2 },
                { label: 'min', stroke: 'transparent', width: 0 },
                { label: 'max', stroke: 'transparent', width: 0 },
              ]}
              bands={[{ series: [3, 2], fill: `${color}22` }]}
              height={150}
              label={`${metric} before the alert`}
            />
          </figure>
        );
      })}
    </div>
  );
}
