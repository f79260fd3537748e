import TimeSeriesChart from '../../../components/TimeSeriesChart.jsx';
import { number } from '../../../lib/format.js';
import { readingLevel } from '../hooks/health.js';

const COLORS = { vibration: '#2563eb', temperature: '#ea580c' };
const FALLBACK_COLORS = ['#0d9488', '#7c3aed', '#db2777', '#65a30d'];

function thresholdsOf(spec) {
  const lines = [];
  if (spec.normal_max !== null) lines.push({ label: `normal ≤ ${spec.normal_max}`, value: spec.normal_max, color: '#d97706' });
  if (spec.alarm_max !== null) lines.push({ label: `alarm ${spec.alarm_max}`, value: spec.alarm_max, color: '#dc2626' });
  if (spec.normal_min !== null && spec.normal_min > 0) {
    lines.push({ label: `normal ≥ ${spec.normal_min}`, value: spec.normal_min, color: '#d97706' });
  }
  if (spec.alarm_min !== null && spec.alarm_min > 0) {
    lines.push({ label: `alarm ${spec.alarm_min}`, value: spec.alarm_min, color: '#dc2626' });
  }
  return lines;
}

/** One metric: the average line, the min-max band of each bucket, and the type's limits. */
export default function MetricChart({ spec, columns, index = 0 }) {
  const color = COLORS[spec.name] ?? FALLBACK_COLORS[index % FALLBACK_COLORS.length];
  const latest = columns?.[1]?.findLast?.((value) => value !== null);
  const series = [
    { label: spec.name, stroke: color, width: 2 },
    { label: 'min', stroke: 'transparent', width: 0, show: true },
    { label: 'max', stroke: 'transparent', width: 0, show: true },
  ];
  const data = columns ?? [[], [], [], []];
  return (
    <figure className="metric-chart card" data-metric={spec.name}>
      <figcaption className="metric-chart__caption">
        <span className="metric-chart__name">{spec.name.replaceAll('_', ' ')}</span>
        <span className={`metric-chart__value level--${readingLevel(spec, latest)}`}>
          {number(latest, 2)} <small>{spec.unit}</small>
        </span>
      </figcaption>
      {data[0].length ? (
        <TimeSeriesChart
          data={data}
          series={series}
          bands={[{ series: [3, 2], fill: `${color}22` }]}
          thresholds={thresholdsOf(spec)}
          unit={spec.unit}
          label={`${spec.name} in ${spec.unit}`}
        />
      ) : (
        <p className="chart-empty">No readings in this range.</p>
      )}
    </figure>
  );
}
