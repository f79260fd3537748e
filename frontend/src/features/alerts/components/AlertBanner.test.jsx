import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { PlantEventsProvider, usePlantSocket } from '../../../app/PlantEvents.jsx';
import ConnectionStatus from '../../../components/ConnectionStatus.jsx';
import { FakeWebSocket, csrfRoute, fakeServer, installFakeWebSocket } from '../../../test/fakes.js';
import { renderWithApp } from '../../../test/render.jsx';
import AlertBanner from './AlertBanner.jsx';

const ALERT = {
  id: 7,
  machine: 'M-007',
  machine_name: 'Air compressor 1',
  error_code: 'E-LUB-01',
  error_code_title: 'Lubrication loss',
  severity: 3,
  source: 'prediction',
  status: 'active',
  probability: 0.93,
  opened_at: new Date().toISOString(),
  refreshed_at: new Date().toISOString(),
  ticket: 12,
};
const WHY = { results: [{ machine: 'M-007', top_signals: ['oil temperature 14 °C above its 12-hour level'] }] };

function SocketStatus() {
  const socket = usePlantSocket();
  return <ConnectionStatus status={socket.status} detail={socket.detail} />;
}

function renderBanner(role) {
  return renderWithApp(
    <PlantEventsProvider>
      <SocketStatus />
      <AlertBanner role={role} />
    </PlantEventsProvider>,
  );
}

describe('AlertBanner', () => {
  let server;
  let openAlerts;

  beforeEach(() => {
    installFakeWebSocket();
    openAlerts = [];
    server = fakeServer({
      ...csrfRoute,
      'GET /api/alerts/': (request) => ({ results: request.query.has('since') ? [ALERT] : openAlerts }),
      'GET /api/predictions/': () => WHY,
      'GET /api/tickets/': () => ({ results: [] }),
      'POST /api/alerts/7/acknowledge/': () => ({ ...ALERT, status: 'acknowledged' }),
    });
  });

  it('appears when an alert is pushed, with the machine, error code, probability and why', async () => {
    renderBanner('Manager');
    FakeWebSocket.latest().open();
    await waitFor(() => expect(server.requests.some((r) => r.path === '/api/alerts/')).toBe(true));
    expect(screen.queryByRole('alert', { name: 'Failure alerts' })).toBeNull();

    openAlerts = [ALERT];
    FakeWebSocket.latest().receive({
      type: 'alert',
      event: 'raised',
      id: 7,
      machine: 'M-007',
      error_code: 'E-LUB-01',
      status: 'active',
      probability: 0.93,
    });

    const banner = await screen.findByRole('alert', { name: 'Failure alerts' });
    expect(within(banner).getByText('M-007')).toBeTruthy();
    expect(within(banner).getByText('E-LUB-01')).toBeTruthy();
    expect(within(banner).getByText('93 % failure probability')).toBeTruthy();
    expect(await within(banner).findByText('oil temperature 14 °C above its 12-hour level')).toBeTruthy();
    expect(await within(banner).findByText(/Lubrication loss/)).toBeTruthy(); // the full alert, fetched behind
  });

  it('lets a manager acknowledge it, which takes it off the banner', async () => {
    openAlerts = [ALERT];
    renderBanner('Manager');
    const button = await screen.findByRole('button', { name: 'Acknowledge' });

    await userEvent.click(button);

    await waitFor(() => expect(screen.queryByRole('alert', { name: 'Failure alerts' })).toBeNull());
    const acknowledge = server.requests.find((r) => r.method === 'POST');
    expect(acknowledge.path).toBe('/api/alerts/7/acknowledge/');
    expect(acknowledge.headers['X-CSRFToken']).toBe('test-token');
  });

  it('shows technicians the alert without the acknowledge button', async () => {
    openAlerts = [ALERT];
    renderBanner('Technician');
    const banner = await screen.findByRole('alert', { name: 'Failure alerts' });
    expect(within(banner).getByText('M-007')).toBeTruthy();
    expect(within(banner).queryByRole('button', { name: 'Acknowledge' })).toBeNull();
  });

  it('says "reconnecting…" while the socket is down and shows the alerts missed meanwhile', async () => {
    renderBanner('Manager');
    FakeWebSocket.latest().open();
    expect(await screen.findByText('Live')).toBeTruthy();

    FakeWebSocket.latest().drop();
    expect(await screen.findByText('Reconnecting…')).toBeTruthy();
    await waitFor(() => expect(FakeWebSocket.instances).toHaveLength(2), { timeout: 2000 });
    FakeWebSocket.latest().open();

    const banner = await screen.findByRole('alert', { name: 'Failure alerts' });
    expect(within(banner).getByText('M-007')).toBeTruthy();
    const catchUp = server.requests.find((r) => r.path === '/api/alerts/' && r.query.has('since'));
    expect(Date.parse(catchUp.query.get('since'))).toBeLessThanOrEqual(Date.now());
    expect(server.requests.some((r) => r.path === '/api/tickets/' && r.query.has('since'))).toBe(true);
    expect(screen.getByText('Live')).toBeTruthy();
  });
});
