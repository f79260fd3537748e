import { useState } from 'react';
import { QueryState } from '../../../components/States.jsx';
import { alertSourceLabel } from '../../../lib/alert-source.js';
import { hours, month, number, percent } from '../../../lib/format.js';
import { usePredictionQuality } from '../hooks/useReport.js';

const MONTH_CHOICES = [3, 6, 12];

function sourceLabel(row) {
  return row.source === 'all' ? 'all together' : (alertSourceLabel(row.source) ?? row.label);
}

function QualityTable({ quality }) {
  return (
    <div className="table-scroll">
      <table className="table quality-table">
        <thead>
          <tr>
            <th scope="col">Source</th>
            <th scope="col">Precision</th>
            <th scope="col">Recall</th>
            <th scope="col">Median lead</th>
            <th scope="col">False alerts / machine-week</th>
            <th scope="col">Alerts (judged · pending)</th>
            <th scope="col">Failures caught</th>
          </tr>
        </thead>
        {quality.months.map((row) => (
          <tbody key={row.month} data-testid={`quality-${row.month}`}>
            <tr className="quality-table__month">
              <th scope="colgroup" colSpan={7}>
                {month(row.month)}
              </th>
            </tr>
            {row.sources.map((source) => (
              <tr key={source.source} className={source.source === 'all' ? 'quality-table__all' : undefined}>
                <th scope="row">{sourceLabel(source)}</th>
                <td>{percent(source.precision)}</td>
                <td>{percent(source.recall)}</td>
                <td>{hours(source.median_lead_hours)}</td>
                <td>{number(source.false_alerts_per_machine_week, 2)}</td>
                <td>
                  {source.alerts}{' '}
                  <span className="muted">
                    ({source.true_alerts + source.false_alerts} · {source.pending_alerts})
                  </span>
                </td>
                <td>
                  {source.events_caught} / {source.events}
                </td>
              </tr>
            ))}
          </tbody>
        ))}
      </table>
    </div>
  );
}

/**
 * How well each source of alerts did, month by month: whether the system is getting better.
 * Definitions: tickets/reports.py (prediction_quality).
 */
export default function PredictionQuality() {
  const [months, setMonths] = useState(6);
  const quality = usePredictionQuality(months);
  return (
    <section className="card" aria-labelledby="prediction-quality-title">
      <div className="quality__header">
        <h2 id="prediction-quality-title">How well the predictions did</h2>
        <div className="segmented" role="group" aria-label="Months">
          {MONTH_CHOICES.map((choice) => (
            <button key={choice} type="button" aria-pressed={choice === months} onClick={() => setMonths(choice)}>
              {choice} months
            </button>
          ))}
        </div>
      </div>
      <p className="muted small">
        An alert is right when a failure, or a fault fixed before it failed, followed within{' '}
        {quality.data ? hours(quality.data.horizon_hours, { digits: 0 }) : 'the horizon'}. Pending alerts are still
        within that time and nothing has confirmed them yet: they count in neither precision nor false alerts until
        it has passed. Recall is the share of the month's failures and prevented faults an alert of the source was
        open before; lead is from the alert to the failure. A dash: nothing to measure yet.
      </p>
      <QueryState query={quality} loading="Loading how well the predictions did…" errorTitle="Could not load it">
        {(data) => <QualityTable quality={data} />}
      </QueryState>
    </section>
  );
}
