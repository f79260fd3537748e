import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { csrfRoute, fakeServer, reply } from '../../../test/fakes.js';
import { renderWithApp } from '../../../test/render.jsx';
import PredictionQuality from './PredictionQuality.jsx';
import ReportsPage from './ReportsPage.jsx';

function source(name, label, figures = {}) {
  return {
    source: name,
    label,
    alerts: 0,
    true_alerts: 0,
    false_alerts: 0,
    pending_alerts: 0,
    events: 0,
    events_caught: 0,
    precision: null,
    recall: null,
    median_lead_hours: null,
    false_alerts_per_machine_week: null,
    ...figures,
  };
}

// March of the backend's hand-built history (tickets/tests/test_prediction_quality.py).
const MARCH = {
  month: '2026-03-01',
  start: '2026-03-01T00:00:00Z',
  end: '2026-04-01T00:00:00Z',
  machine_weeks: 6,
  sources: [
    source('rule', 'Raised by an alarm rule', {
      alerts: 1,
      pending_alerts: 1,
      events: 2,
      recall: 0,
      false_alerts_per_machine_week: 0,
    }),
    source('anomaly', "Raised by the machine's health model", {
      alerts: 1,
      true_alerts: 1,
      events: 2,
      events_caught: 1,
      precision: 1,
      recall: 0.5,
      median_lead_hours: 30,
      false_alerts_per_machine_week: 0,
    }),
    source('prediction', 'Predicted', {
      alerts: 1,
      false_alerts: 1,
      events: 2,
      events_caught: 1,
      precision: 0,
      recall: 0.5,
      median_lead_hours: 14,
      false_alerts_per_machine_week: 1 / 6,
    }),
    source('all', 'All predictions', {
      alerts: 3,
      true_alerts: 1,
      false_alerts: 1,
      pending_alerts: 1,
      events: 2,
      events_caught: 2,
      precision: 0.5,
      recall: 1,
      median_lead_hours: 22,
      false_alerts_per_machine_week: 1 / 6,
    }),
  ],
};
const FEBRUARY = {
  ...MARCH,
  month: '2026-02-01',
  sources: MARCH.sources.map((row) => source(row.source, row.label)),
};

const cells = (row) => within(row).getAllByRole('cell').map((cell) => cell.textContent);

describe('PredictionQuality', () => {
  let server;

  beforeEach(() => {
    server = fakeServer({
      ...csrfRoute,
      'GET /api/reports/prediction-quality/': () => ({ horizon_hours: 24, machines: 3, months: [FEBRUARY, MARCH] }),
    });
  });

  it('shows precision, recall, lead and counts per month and source', async () => {
    renderWithApp(<PredictionQuality />);

    const march = await screen.findByTestId('quality-2026-03-01');
    expect(within(march).getByRole('columnheader', { name: 'March 2026' })).toBeTruthy();
    const row = (name) => within(march).getByRole('rowheader', { name }).closest('tr');
    expect(cells(row('failure forest'))).toEqual(['0 %', '50 %', '14.0 h', '0.17', '1 (1 · 0)', '1 / 2']);
    expect(cells(row('health model'))).toEqual(['100 %', '50 %', '30.0 h', '0.00', '1 (1 · 0)', '1 / 2']);
    // Pending alone: nothing judged yet, so no precision; no lead without a failure caught.
    expect(cells(row('alarm rule'))).toEqual(['–', '0 %', '–', '0.00', '1 (0 · 1)', '0 / 2']);
    expect(cells(row('all together'))).toEqual(['50 %', '100 %', '22.0 h', '0.17', '3 (2 · 1)', '2 / 2']);
    expect(screen.getByText(/Pending alerts are still within that time/).textContent).toContain('24 h');
    expect(server.requests.at(-1).query.get('months')).toBe('6');
  });

  it('lists the months oldest first and shows a dash where nothing is measurable', async () => {
    renderWithApp(<PredictionQuality />);

    await screen.findByTestId('quality-2026-02-01');
    const groups = screen.getAllByRole('columnheader', { name: /2026$/ }).map((header) => header.textContent);
    expect(groups).toEqual(['February 2026', 'March 2026']);
    const february = screen.getByTestId('quality-2026-02-01');
    const all = within(february).getByRole('rowheader', { name: 'all together' }).closest('tr');
    expect(cells(all)).toEqual(['–', '–', '–', '–', '0 (0 · 0)', '0 / 0']);
  });

  it('asks for more months when the manager picks them', async () => {
    const user = userEvent.setup();
    renderWithApp(<PredictionQuality />);
    await screen.findByTestId('quality-2026-03-01');

    await user.click(screen.getByRole('button', { name: '12 months' }));

    await waitFor(() => expect(server.requests.at(-1).query.get('months')).toBe('12'));
    expect(screen.getByRole('button', { name: '12 months' }).getAttribute('aria-pressed')).toBe('true');
  });

  it('says so when the figures cannot be loaded', async () => {
    fakeServer({
      ...csrfRoute,
      'GET /api/reports/prediction-quality/': () => reply(403, { detail: 'Reports are for managers and supervisors.' }),
    });
    renderWithApp(<PredictionQuality />);

    expect(await screen.findByText('Reports are for managers and supervisors.')).toBeTruthy();
  });

  it('is a section of the Reports page', async () => {
    fakeServer({
      ...csrfRoute,
      'GET /api/reports/summary/': () => reply(500, {}),
      'GET /api/reports/prediction-quality/': () => ({ horizon_hours: 24, machines: 3, months: [MARCH] }),
    });
    renderWithApp(<ReportsPage />, { route: '/reports' });

    expect(await screen.findByRole('heading', { name: 'How well the predictions did' })).toBeTruthy();
    expect(await screen.findByTestId('quality-2026-03-01')).toBeTruthy();
  });
});
