import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { PlantEventsProvider, usePlantSocket } from '../../../app/PlantEvents.jsx';
import ConnectionStatus from '../../../components/ConnectionStatus.jsx';
import { FakeWebSocket, csrfRoute, fakeServer, installFakeWebSocket, reply } from '../../../test/fakes.js';
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
  explanation: ['oil temperature 14 °C above its 12-hour level'],
  rul: { hours: 5, low_hours: 2, high_hours: 9 },
};
const REPORTED = {
  ...ALERT,
  id: 8,
  machine: 'M-012',
  machine_name: 'Press 12',
  error_code: 'E-ELC-01',
  source: 'machine',
  probability: 1,
  ticket: 13,
  explanation: ['M-012 reported E-ELC-01 itself: it has failed.'],
  rul: null,
};

const RULE = {
  ...ALERT,
  id: 9,
  machine: 'M-003',
  error_code: 'E-INS-01',
  error_code_title: 'Inspect the machine',
  source: 'rule',
  probability: null,
  ticket: 14,
  explanation: ['Alarm rule: vibration 7.4 mm/s RMS above 7.1 for 6 min.'],
  rul: null,
};

const ANOMALY = {
  ...ALERT,
  id: 10,
  machine: 'M-005',
  error_code: 'E-INS-01',
  error_code_title: 'Inspect the machine',
  source: 'anomaly',
  probability: null,
  ticket: 15,
  explanation: [],
  detail:
    'health 31 of 100, past its normal for 35 min; vibration 1 h mean 4.02 mm/s RMS above its normal 2.01 ± 0.05',
  rul: null,
};

/** The words after the machine and error code: who raised it (and the probability, for the forest). */
const origin = (item) => item.querySelector('.alert-banner__probability').textContent;

/** A promise the test settles itself: holds an answer back to look at the page meanwhile. */
function deferred() {
  let resolve;
  const promise = new Promise((settle) => (resolve = settle));
  return { promise, resolve };
}

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
  let held; // while set, the alert list answers only once the test releases it

  beforeEach(() => {
    installFakeWebSocket();
    openAlerts = [];
    held = null;
    server = fakeServer({
      ...csrfRoute,
      'GET /api/alerts/': async (request) => {
        if (held) await held.promise;
        return { results: request.query.has('since') ? [ALERT] : openAlerts };
      },
      'GET /api/tickets/': () => ({ results: [] }),
      'POST /api/alerts/7/acknowledge/': () => ({ ...ALERT, status: 'acknowledged' }),
    });
  });

  it('appears when an alert is pushed, with the machine, error code, probability, remaining life and why', async () => {
    renderBanner('Manager');
    FakeWebSocket.latest().open();
    await waitFor(() => expect(server.requests.some((r) => r.path === '/api/alerts/')).toBe(true));
    expect(screen.queryByRole('alert', { name: 'Failure alerts' })).toBeNull();

    openAlerts = [ALERT];
    held = deferred();
    FakeWebSocket.latest().receive({
      type: 'alert',
      event: 'raised',
      id: 7,
      machine: 'M-007',
      error_code: 'E-LUB-01',
      status: 'active',
      probability: 0.93,
      source: 'prediction',
    });

    // At once from the frame, which has no why yet ...
    const banner = await screen.findByRole('alert', { name: 'Failure alerts' });
    expect(within(banner).getByText('M-007')).toBeTruthy();
    expect(within(banner).getByText('E-LUB-01')).toBeTruthy();
    expect(within(banner).getByText('failure forest · 93 % failure probability')).toBeTruthy();
    expect(within(banner).getByText('Finding out why…')).toBeTruthy();
    // ... then the full alert, fetched behind it, with the why and the remaining life.
    held.resolve();
    expect(await within(banner).findByText('oil temperature 14 °C above its 12-hour level')).toBeTruthy();
    expect(within(banner).getByText(/Lubrication loss/)).toBeTruthy();
    expect(within(banner).getByText('· remaining life 5.0 h (2.0 h–9.0 h)')).toBeTruthy();
    expect(within(banner).queryByText('Finding out why…')).toBeNull();
    // The why comes with the alert: no request per alert for it.
    expect(server.requests.filter((r) => r.path !== '/api/alerts/')).toEqual([]);
  });

  it("shows a rule's alert with its rule instead of a probability no model gave", async () => {
    openAlerts = [RULE];
    renderBanner('Manager');
    FakeWebSocket.latest().open();
    const banner = await screen.findByRole('alert', { name: 'Failure alerts' });
    expect(await within(banner).findByText('Alarm rule: vibration 7.4 mm/s RMS above 7.1 for 6 min.')).toBeTruthy();
    expect(within(banner).getByText('alarm rule')).toBeTruthy();
    expect(within(banner).queryByText(/failure probability/)).toBeNull();
  });

  it('says in words what raised each alert: the forest with its probability, a rule, the health model, the machine', async () => {
    openAlerts = [ALERT, RULE, ANOMALY, REPORTED];
    renderBanner('Manager');
    const banner = await screen.findByRole('alert', { name: 'Failure alerts' });
    await userEvent.click(within(banner).getByRole('button', { name: 'Show 2 more alerts' }));

    const items = Object.fromEntries(
      [...banner.querySelectorAll('.alert-banner__item')].map((item) => [item.dataset.source, item]),
    );
    expect(Object.keys(items).sort()).toEqual(['anomaly', 'machine', 'prediction', 'rule']);
    expect(origin(items.prediction)).toBe('failure forest · 93 % failure probability');
    expect(origin(items.rule)).toBe('alarm rule');
    expect(origin(items.anomaly)).toBe('health model');
    expect(origin(items.machine)).toBe('reported by the machine');
    // Only the forest's alert speaks of a failure probability.
    expect(within(banner).getAllByText(/failure probability/)).toHaveLength(1);
  });

  it("gives a rule's or the health model's detail as the why when the alert has no explanation", async () => {
    const ruleDetail = { ...RULE, explanation: [], detail: 'vibration 7.49 mm/s RMS above 7.1 for 8 min' };
    const ruleExplained = { ...RULE, id: 11, machine: 'M-004', detail: 'vibration 7.4 mm/s RMS above 7.1 for 6 min' };
    openAlerts = [ruleDetail, ANOMALY, ruleExplained];
    renderBanner('Manager');
    const banner = await screen.findByRole('alert', { name: 'Failure alerts' });
    await userEvent.click(within(banner).getByRole('button', { name: 'Show 1 more alert' }));

    const why = (id) =>
      [...banner.querySelectorAll(`.alert-banner__item[data-alert-id="${id}"] .alert-banner__why li`)].map(
        (li) => li.textContent,
      );
    expect(why(9)).toEqual(['vibration 7.49 mm/s RMS above 7.1 for 8 min']);
    expect(why(10)).toEqual([ANOMALY.detail]);
    // An explanation, where the API gives one, is the why: the detail does not repeat it.
    expect(why(11)).toEqual(['Alarm rule: vibration 7.4 mm/s RMS above 7.1 for 6 min.']);
    expect(within(banner).queryByText('Finding out why…')).toBeNull();
  });

  it('names the health model at once from a pushed frame, and finds out why behind it', async () => {
    renderBanner('Manager');
    FakeWebSocket.latest().open();
    await waitFor(() => expect(server.requests.some((r) => r.path === '/api/alerts/')).toBe(true));

    openAlerts = [ANOMALY];
    held = deferred();
    FakeWebSocket.latest().receive({
      type: 'alert',
      event: 'raised',
      id: 10,
      machine: 'M-005',
      error_code: 'E-INS-01',
      status: 'active',
      probability: null,
      source: 'anomaly',
    });

    const banner = await screen.findByRole('alert', { name: 'Failure alerts' });
    const item = banner.querySelector('.alert-banner__item[data-source="anomaly"]');
    expect(origin(item)).toBe('health model');
    expect(within(item).getByText('Finding out why…')).toBeTruthy();
    held.resolve();
    expect(await within(item).findByText(ANOMALY.detail)).toBeTruthy();
    expect(within(item).queryByText('Finding out why…')).toBeNull();
  });

  it('keeps the why while a refreshed alert is fetched again, then shows the new one', async () => {
    openAlerts = [ALERT];
    renderBanner('Manager');
    FakeWebSocket.latest().open();
    const banner = await screen.findByRole('alert', { name: 'Failure alerts' });
    expect(await within(banner).findByText('oil temperature 14 °C above its 12-hour level')).toBeTruthy();

    openAlerts = [{ ...ALERT, probability: 0.97, explanation: ['oil temperature 19 °C above its 12-hour level'] }];
    held = deferred();
    FakeWebSocket.latest().receive({
      type: 'alert',
      event: 'refreshed',
      id: 7,
      machine: 'M-007',
      error_code: 'E-LUB-01',
      status: 'active',
      probability: 0.97,
      source: 'prediction',
    });

    expect(await within(banner).findByText('failure forest · 97 % failure probability')).toBeTruthy(); // from the frame
    expect(within(banner).getByText('oil temperature 14 °C above its 12-hour level')).toBeTruthy(); // the why it had
    expect(within(banner).queryByText('Finding out why…')).toBeNull();
    held.resolve();
    expect(await within(banner).findByText('oil temperature 19 °C above its 12-hour level')).toBeTruthy();
  });

  it("says the machine reported a failure itself, without a remaining life it doesn't have", async () => {
    openAlerts = [REPORTED];
    renderBanner('Manager');
    const banner = await screen.findByRole('alert', { name: 'Failure alerts' });

    expect(within(banner).getByText('M-012 reported E-ELC-01 itself: it has failed.')).toBeTruthy();
    expect(within(banner).getByText('reported by the machine')).toBeTruthy();
    expect(within(banner).queryByText(/failure probability/)).toBeNull();
    expect(within(banner).queryByText(/remaining life/)).toBeNull();
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

  it('shows technicians the alert without the acknowledge or false alarm buttons', async () => {
    openAlerts = [ALERT];
    renderBanner('Technician');
    const banner = await screen.findByRole('alert', { name: 'Failure alerts' });
    expect(within(banner).getByText('M-007')).toBeTruthy();
    expect(within(banner).queryByRole('button', { name: 'Acknowledge' })).toBeNull();
    expect(within(banner).queryByRole('button', { name: 'Mark as false alarm' })).toBeNull();
  });

  describe('marking an alert false', () => {
    const LONE = { ...ALERT, ticket: null };

    async function askWhy(role) {
      renderBanner(role);
      const banner = await screen.findByRole('alert', { name: 'Failure alerts' });
      await userEvent.click(within(banner).getByRole('button', { name: 'Mark as false alarm' }));
      return within(banner).getByRole('form', { name: 'Mark alert E-LUB-01 on M-007 as a false alarm' });
    }

    it.each(['Manager', 'Supervisor'])('lets a %s say why, which takes it off the banner', async (role) => {
      openAlerts = [LONE];
      server = fakeServer({
        ...csrfRoute,
        'GET /api/alerts/': () => ({ results: openAlerts }),
        'POST /api/alerts/7/mark-false/': (request) => ({
          ...LONE,
          status: 'cleared',
          marked_false_reason: request.body.reason,
        }),
      });
      const form = await askWhy(role);
      const submit = within(form).getByRole('button', { name: 'Mark false' });
      expect(submit.disabled).toBe(true); // a reason first

      await userEvent.type(within(form).getByLabelText('Why was it a false alarm?'), ' Sensor cable was loose ');
      await userEvent.click(submit);

      await waitFor(() => expect(screen.queryByRole('alert', { name: 'Failure alerts' })).toBeNull());
      const post = server.requests.find((r) => r.method === 'POST');
      expect(post.path).toBe('/api/alerts/7/mark-false/');
      expect(post.body).toEqual({ reason: 'Sensor cable was loose' });
      expect(post.headers['X-CSRFToken']).toBe('test-token');
    });

    it("shows the server's refusal, keeps the reason typed and the alert on the banner", async () => {
      openAlerts = [ALERT];
      const refusal =
        'Alert #7 has ticket #12 (open): resolve the ticket as a false alarm instead; its assignee or a ' +
        'supervisor can, and that clears the alert.';
      server = fakeServer({
        ...csrfRoute,
        'GET /api/alerts/': () => ({ results: openAlerts }),
        'POST /api/alerts/7/mark-false/': () => reply(400, { detail: refusal }),
      });
      const form = await askWhy('Manager');
      await userEvent.type(within(form).getByLabelText('Why was it a false alarm?'), 'Nothing wrong');

      await userEvent.click(within(form).getByRole('button', { name: 'Mark false' }));

      expect((await within(form).findByRole('alert')).textContent).toBe(refusal);
      expect(within(form).getByLabelText('Why was it a false alarm?').value).toBe('Nothing wrong');
      expect(screen.getByRole('alert', { name: 'Failure alerts' })).toBeTruthy();
    });

    it('closes the question on cancel, sending nothing', async () => {
      openAlerts = [LONE];
      const form = await askWhy('Supervisor');
      await userEvent.click(within(form).getByRole('button', { name: 'Cancel' }));

      expect(screen.queryByRole('form', { name: /as a false alarm/ })).toBeNull();
      expect(screen.getByRole('button', { name: 'Mark as false alarm' })).toBeTruthy();
      expect(server.requests.filter((r) => r.method === 'POST')).toEqual([]);
    });
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
