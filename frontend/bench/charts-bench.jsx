// 20 live charts fed at 1 Hz, each a 15-minute window of 1 Hz readings with its min-max band and
// two limits, as the machine page draws them (the same TimeSeriesChart). Each tick records how long
// the update took, from the new reading to the last chart drawn, for charts.bench.mjs to read.
import { StrictMode, useEffect, useState } from 'react';
import { flushSync } from 'react-dom';
import { createRoot } from 'react-dom/client';
import TimeSeriesChart from '../src/components/TimeSeriesChart.jsx';
import '../src/app/styles.css';

const params = new URLSearchParams(window.location.search);
const CHARTS = Number(params.get('charts') ?? 20);
const WINDOW_S = Number(params.get('window') ?? 900);
const HZ = Number(params.get('hz') ?? 1);

const SERIES = [
  { label: 'vibration', stroke: '#2563eb', width: 2 },
  { label: 'min', stroke: 'transparent', width: 0 },
  { label: 'max', stroke: 'transparent', width: 0 },
];
const BANDS = [{ series: [3, 2], fill: '#2563eb22' }];
const THRESHOLDS = [
  { label: 'normal ≤ 4.5', value: 4.5, color: '#d97706' },
  { label: 'alarm 7.1', value: 7.1, color: '#dc2626' },
];

function reading(chart, t) {
  return 2.5 + Math.sin(t / 60 + chart) * 0.8 + Math.random() * 0.3;
}

function initialData(chart, now) {
  const ts = [];
  const values = [];
  for (let t = now - WINDOW_S; t < now; t += 1 / HZ) {
    ts.push(t);
    values.push(reading(chart, t));
  }
  return [ts, values, values, values];
}

window.__tickMs = [];

function Bench() {
  const [data, setData] = useState(() => {
    const now = Date.now() / 1000;
    return Array.from({ length: CHARTS }, (_, chart) => initialData(chart, now));
  });

  useEffect(() => {
    const timer = setInterval(() => {
      const started = performance.now();
      const t = Date.now() / 1000;
      // A new array per update, as the machine page's hook hands over; the window slides by one.
      flushSync(() =>
        setData((current) =>
          current.map(([ts, values], chart) => {
            const value = reading(chart, t);
            const nextTs = [...ts.slice(1), t];
            const nextValues = [...values.slice(1), value];
            return [nextTs, nextValues, nextValues, nextValues];
          }),
        ),
      );
      // uPlot draws in a microtask queued by setData; this one runs after the last of them.
      queueMicrotask(() => window.__tickMs.push(performance.now() - started));
    }, 1000 / HZ);
    return () => clearInterval(timer);
  }, []);

  return (
    <main className="content">
      <h1>
        {CHARTS} charts × {WINDOW_S} points at {HZ} Hz
      </h1>
      <div style={{ display: 'grid', gridTemplateColumns: 'repeat(2, minmax(0, 1fr))', gap: '0.75rem' }}>
        {data.map((columns, chart) => (
          <div className="card" key={chart}>
            <TimeSeriesChart
              data={columns}
              series={SERIES}
              bands={BANDS}
              thresholds={THRESHOLDS}
              height={180}
              unit="mm/s"
              label={`chart ${chart}`}
            />
          </div>
        ))}
      </div>
    </main>
  );
}

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <Bench />
  </StrictMode>,
);
