import { useMemo } from 'react';
import { useSearchParams } from 'react-router';
import { EmptyState, ErrorState, Loading } from '../../../components/States.jsx';
import { HEALTH, SORTS, machineHealth, sortMachines } from '../hooks/health.js';
import { useLatestPredictions, useMachines } from '../hooks/useMachines.js';
import MachineCard from './MachineCard.jsx';

function HealthSummary({ rows }) {
  const counts = Object.fromEntries(Object.keys(HEALTH).map((key) => [key, 0]));
  for (const row of rows) counts[row.health] += 1;
  return (
    <ul className="health-summary" aria-label="Machines by health">
      {Object.entries(HEALTH)
        .filter(([key]) => key !== 'unknown' || counts[key])
        .map(([key, { label }]) => (
          <li key={key} className={`health-summary__item health-summary__item--${key}`}>
            <span className="health-summary__count">{counts[key]}</span> {label}
          </li>
        ))}
    </ul>
  );
}

/** The plant grid: every machine coloured by health, with its failure risk, remaining life and live values. */
export default function PlantOverview({ openAlerts = [] }) {
  const machines = useMachines();
  const latest = useLatestPredictions();
  const [searchParams, setSearchParams] = useSearchParams();
  const sortKey = SORTS[searchParams.get('sort')] ? searchParams.get('sort') : 'health';

  const rows = useMemo(() => {
    if (!machines.data) return [];
    const byMachine = Object.fromEntries((latest.data?.machines ?? []).map((row) => [row.machine, row]));
    const alertByMachine = {};
    for (const alert of openAlerts) {
      const current = alertByMachine[alert.machine];
      if (!current || alert.probability > current.probability) alertByMachine[alert.machine] = alert;
    }
    const threshold = latest.data?.threshold;
    return sortMachines(
      machines.data.map((machine) => {
        const prediction = byMachine[machine.code]?.prediction ?? null;
        const alert = alertByMachine[machine.code] ?? null;
        return {
          machine,
          prediction,
          sensorWarning: byMachine[machine.code]?.sensor_warning ?? null,
          healthModel: byMachine[machine.code]?.health ?? null,
          alert,
          health: machineHealth(machine, { prediction, threshold, alert }),
        };
      }),
      sortKey,
    );
  }, [machines.data, latest.data, openAlerts, sortKey]);

  return (
    <section className="page">
      <header className="page__header">
        <div>
          <h1>Plant overview</h1>
          <p className="muted">
            Health of every machine, live.
            {latest.data && ` Alerts open at ${Math.round(latest.data.threshold * 100)} % failure probability.`}
          </p>
        </div>
        <label className="sort-control">
          <span>Sort by</span>
          <select
            value={sortKey}
            onChange={(event) => setSearchParams({ sort: event.target.value }, { replace: true })}
          >
            {Object.entries(SORTS).map(([key, { label }]) => (
              <option key={key} value={key}>
                {label}
              </option>
            ))}
          </select>
        </label>
      </header>
      {machines.isPending && <Loading label="Loading the machines…" />}
      {machines.isError && <ErrorState error={machines.error} onRetry={machines.refetch} title="Could not load machines" />}
      {latest.isError && (
        <ErrorState error={latest.error} onRetry={latest.refetch} title="Predictions are unavailable" />
      )}
      {machines.data && !machines.data.length && (
        <EmptyState title="No machines yet">
          A supervisor adds machines in the admin site, or run <code>manage.py seed_demo</code>.
        </EmptyState>
      )}
      {rows.length > 0 && (
        <>
          <HealthSummary rows={rows} />
          <div className="machine-grid">
            {rows.map((row) => (
              <MachineCard key={row.machine.code} {...row} />
            ))}
          </div>
        </>
      )}
    </section>
  );
}
