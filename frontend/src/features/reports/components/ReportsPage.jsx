import { useSearchParams } from 'react-router';
import { EmptyState, ErrorState, Loading } from '../../../components/States.jsx';
import { day, hours, isoDay, percent } from '../../../lib/format.js';
import { reportCsvUrl } from '../api/reports.js';
import { useReport } from '../hooks/useReport.js';
import BarChart from './BarChart.jsx';
import PredictionQuality from './PredictionQuality.jsx';

const PRESETS = [
  { label: 'Last 7 days', days: 7 },
  { label: 'Last 30 days', days: 30 },
  { label: 'Last 90 days', days: 90 },
];

function lastDays(days) {
  const to = new Date();
  const from = new Date(to);
  from.setDate(to.getDate() - (days - 1));
  return { from: isoDay(from), to: isoDay(to) };
}

function Figure({ label, value, hint, testId }) {
  return (
    <div className="kpi" data-testid={testId}>
      <span className="kpi__label">{label}</span>
      <span className="kpi__value">{value}</span>
      {hint && <span className="kpi__hint">{hint}</span>}
    </div>
  );
}

function Report({ report }) {
  const predictedShare = report.breakdowns ? report.breakdowns_predicted / report.breakdowns : null;
  const byDay = report.by_day.map((row) => ({
    key: row.day,
    label: day(row.day),
    values: { predicted: row.predicted, surprise: row.surprise },
  }));
  const byMachine = report.by_machine
    .filter((row) => row.breakdowns > 0 || row.downtime_hours > 0)
    .sort((a, b) => b.breakdowns - a.breakdowns || b.downtime_hours - a.downtime_hours)
    .map((row) => ({
      key: row.machine,
      label: `${row.machine} ${row.name}`,
      values: { predicted: row.predicted, surprise: row.surprise },
    }));
  return (
    <>
      <div className="headline card" data-testid="breakdowns-headline">
        <span className="headline__number" data-testid="breakdowns-count">
          {report.breakdowns}
        </span>
        <span className="headline__text">
          breakdown{report.breakdowns === 1 ? '' : 's'} from {day(report.period.first_day)} to{' '}
          {day(report.period.last_day)}
          <span className="muted">
            {' '}
            · {report.breakdowns_predicted} predicted, {report.breakdowns_surprise} by surprise · {report.machines_broken_down}{' '}
            of {report.machines} machines
          </span>
        </span>
      </div>
      <div className="kpi-grid">
        <Figure label="Downtime" value={hours(report.downtime_hours)} testId="kpi-downtime" />
        <Figure label="MTBF" value={hours(report.mtbf_hours)} hint="operating hours per breakdown" />
        <Figure label="MTTR" value={hours(report.mttr_hours)} hint="down → running again" />
        <Figure
          label="Alert precision"
          value={percent(report.alert_precision)}
          hint={`of ${report.alert_tickets_resolved} resolved alert tickets`}
        />
        <Figure label="Lead time" value={hours(report.median_lead_time_hours)} hint="median, alert → failure" />
        <Figure label="Predicted" value={percent(predictedShare)} hint="of the breakdowns" />
        <Figure label="Tickets" value={`${report.tickets_resolved} / ${report.tickets_opened}`} hint="resolved / opened" />
      </div>
      <div className="report-charts">
        <section className="card">
          <h2>Breakdowns per day</h2>
          <BarChart
            rows={byDay}
            label="Breakdowns per day, predicted and by surprise"
            parts={[
              { key: 'predicted', label: 'Predicted' },
              { key: 'surprise', label: 'Surprise' },
            ]}
          />
        </section>
        <section className="card">
          <h2>Breakdowns per machine</h2>
          {byMachine.length ? (
            <BarChart
              rows={byMachine}
              label="Breakdowns per machine"
              parts={[
                { key: 'predicted', label: 'Predicted' },
                { key: 'surprise', label: 'Surprise' },
              ]}
            />
          ) : (
            <EmptyState title="No machine broke down in this period." />
          )}
        </section>
      </div>
      <section className="card">
        <h2>Per machine</h2>
        <div className="table-scroll">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Machine</th>
                <th scope="col">Breakdowns</th>
                <th scope="col">Predicted</th>
                <th scope="col">Downtime</th>
                <th scope="col">MTBF</th>
                <th scope="col">MTTR</th>
              </tr>
            </thead>
            <tbody>
              {report.by_machine.map((row) => (
                <tr key={row.machine}>
                  <th scope="row">
                    {row.machine} <span className="muted">{row.name}</span>
                  </th>
                  <td>{row.breakdowns}</td>
                  <td>{row.predicted}</td>
                  <td>{hours(row.downtime_hours)}</td>
                  <td>{hours(row.mtbf_hours)}</td>
                  <td>{hours(row.mttr_hours)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}

/**
 * Last week's breakdowns (or any range of days): the headline, per day and machine, and the KPIs; then
 * how well the predictions did, month by month.
 */
export default function ReportsPage() {
  const [searchParams, setSearchParams] = useSearchParams();
  const preset = lastDays(7);
  const period = { from: searchParams.get('from') || preset.from, to: searchParams.get('to') || preset.to };
  const report = useReport(period);

  function setPeriod(next) {
    setSearchParams(next, { replace: true });
  }

  return (
    <section className="page">
      <header className="page__header">
        <div>
          <h1>Reports</h1>
          <p className="muted">Breakdowns, downtime and how well the alerts did, over whole days.</p>
        </div>
        <a className="button" href={reportCsvUrl(period)} download>
          Download CSV
        </a>
      </header>
      <form className="range-picker card" onSubmit={(event) => event.preventDefault()} aria-label="Period">
        <label className="field field--inline">
          <span>From</span>
          <input
            type="date"
            value={period.from}
            max={period.to}
            onChange={(event) => event.target.value && setPeriod({ ...period, from: event.target.value })}
          />
        </label>
        <label className="field field--inline">
          <span>To</span>
          <input
            type="date"
            value={period.to}
            min={period.from}
            onChange={(event) => event.target.value && setPeriod({ ...period, to: event.target.value })}
          />
        </label>
        <div className="segmented" role="group" aria-label="Presets">
          {PRESETS.map((option) => {
            const range = lastDays(option.days);
            return (
              <button
                key={option.days}
                type="button"
                aria-pressed={range.from === period.from && range.to === period.to}
                onClick={() => setPeriod(range)}
              >
                {option.label}
              </button>
            );
          })}
        </div>
        {report.isFetching && !report.isPending && <span className="muted small">Updating…</span>}
      </form>
      {report.isPending && <Loading label="Loading the report…" />}
      {report.isError && <ErrorState error={report.error} onRetry={report.refetch} title="Could not load the report" />}
      {report.data && <Report report={report.data} />}
      <PredictionQuality />
    </section>
  );
}
