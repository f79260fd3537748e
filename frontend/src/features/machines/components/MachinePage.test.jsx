import { screen, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import { fakeServer, installFakeWebSocket } from '../../../test/fakes.js';
import { renderWithApp } from '../../../test/render.jsx';
import MachinePage from './MachinePage.jsx';

const MACHINE = {
  code: 'M-007',
  name: 'Air compressor 1',
  machine_type: 'compressor',
  line: 'Line A',
  location: '',
  status: 'running',
  status_changed_at: '2026-03-09T08:00:00Z',
  metrics: [],
};
const PREDICTION = {
  ts: '2026-03-09T10:00:00Z',
  failure_probability: 0.12,
  rul_hours: 300,
  rul_low_hours: null,
  rul_high_hours: null,
  error_code: null,
  top_signals: [],
  model_version: 'v3',
};
const HEALTH = {
  state: 'ready',
  learned_days: 4.1,
  required_days: 3.0,
  ready_since: '2026-03-05T00:00:00Z',
  last_relearned_at: null,
  score: 31.0,
  scored_at: '2026-03-09T10:00:00Z',
  departures: ['vibration 1 h mean 4.02 mm/s RMS above its normal 2.01 ± 0.05'],
};
const ANOMALY_ALERT = {
  id: 10,
  machine: 'M-007',
  error_code: 'E-INS-01',
  error_code_title: 'Inspect the machine',
  source: 'anomaly',
  status: 'active',
  probability: null,
  opened_at: new Date().toISOString(),
};

describe('MachinePage', () => {
  let health;
  let history;

  beforeEach(() => {
    installFakeWebSocket();
    health = HEALTH;
    history = { machine: 'M-007', bucket_seconds: 2, source: 'readings', series: [] };
    fakeServer({
      'GET /api/machines/M-007/': () => MACHINE,
      'GET /api/machines/M-007/readings/': () => history,
      'GET /api/predictions/': () => ({ results: [] }),
      'GET /api/predictions/latest/': () => ({
        threshold: 0.8,
        machines: [{ machine: 'M-007', prediction: PREDICTION, sensor_warning: null, health }],
      }),
    });
  });

  it('shows the health section beside the prediction, and what raised the open alert', async () => {
    renderWithApp(<MachinePage code="M-007" openAlerts={[ANOMALY_ALERT]} />);
    const section = (await screen.findByRole('heading', { name: 'Health' })).closest('section');
    expect(section.querySelector('[data-health-score]').textContent).toBe('31 of 100');
    expect(within(section).getByText(HEALTH.departures[0])).toBeTruthy();
    expect(within(section).getByText(/^Ready since/)).toBeTruthy();
    expect(screen.getByRole('heading', { name: 'Prediction' })).toBeTruthy();
    const alerts = screen.getByRole('heading', { name: 'Open alerts' }).closest('section');
    expect(within(alerts).getByText('health model')).toBeTruthy();
    expect(within(alerts).getByText('E-INS-01')).toBeTruthy();
  });

  it('offers each open alert the actions the route gives, acknowledged ones included', async () => {
    const acknowledged = { ...ANOMALY_ALERT, id: 11, error_code: 'E-BRG-01', status: 'acknowledged' };
    renderWithApp(
      <MachinePage
        code="M-007"
        openAlerts={[ANOMALY_ALERT, acknowledged]}
        alertActions={(alert) => <button type="button">Act on alert {alert.id}</button>}
      />,
    );
    const alerts = (await screen.findByRole('heading', { name: 'Open alerts' })).closest('section');
    const items = alerts.querySelectorAll('.machine-alerts__item');
    expect(within(items[0]).getByRole('button', { name: 'Act on alert 10' })).toBeTruthy();
    expect(within(items[1]).getByRole('button', { name: 'Act on alert 11' })).toBeTruthy();
  });

  it('says a machine is still learning its normal', async () => {
    health = { ...HEALTH, state: 'learning', learned_days: 2.9, score: null, ready_since: null, departures: [] };
    renderWithApp(<MachinePage code="M-007" />);
    const section = (await screen.findByRole('heading', { name: 'Health' })).closest('section');
    expect(within(section).getByText('learning normal behaviour: 2 of 3 days')).toBeTruthy();
    expect(screen.queryByRole('heading', { name: 'Open alerts' })).toBeNull();
  });

  it('says which storage tier the history was read from', async () => {
    history = { machine: 'M-007', bucket_seconds: 86400, source: 'hours', series: [] };
    renderWithApp(<MachinePage code="M-007" />);
    expect((await screen.findByTestId('history-source')).textContent).toBe('hourly roll-ups, 1 d buckets');
    expect(screen.getByRole('button', { name: '1 y' })).toBeTruthy();
  });

  it('has no health section for a machine without a health model', async () => {
    health = null;
    renderWithApp(<MachinePage code="M-007" />);
    await screen.findByText('Model v3', { exact: false });
    expect(screen.queryByRole('heading', { name: 'Health' })).toBeNull();
  });
});
