import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import OfflineStatus from '../../../components/OfflineStatus.jsx';
import { OfflineQueueProvider } from '../../../lib/offline/OfflineQueueProvider.jsx';
import { createActionQueue } from '../../../lib/offline/queue.js';
import { openActionStore } from '../../../lib/offline/store.js';
import { csrfRoute, fakeServer, reply } from '../../../test/fakes.js';
import { renderWithApp } from '../../../test/render.jsx';
import { sendTicketAction } from '../api/offline-actions.js';
import TicketDetailPage from './TicketDetailPage.jsx';

const TICKET = {
  id: 12,
  title: 'Imbalance predicted on M-004',
  machine: 'M-004',
  machine_name: 'Fan 4',
  error_code: 'E-IMB-01',
  status: 'open',
  priority: 2,
  priority_display: 'Medium',
  assignee: { id: 5, username: 'tech1', full_name: 'Ann Lee' },
  outcome: '',
  found_failure_mode: '',
  predicted_failure_mode: 'imbalance',
  opened_at: '2026-11-27T09:00:00Z',
  sop: {
    id: 1,
    title: 'Balance a fan',
    version: 1,
    summary: '',
    estimated_minutes: 0,
    steps: [{ order: 1, instruction: 'Lock out the fan.', warning: '', tools: [], estimated_minutes: null }],
  },
  checklist: [],
  evidence: null,
  explanation: [],
  events: [],
  photos: [],
  actions: ['start', 'comment', 'add_photo'],
};

let databases = 0;

function setOnline(online) {
  vi.spyOn(navigator, 'onLine', 'get').mockReturnValue(online);
  act(() => {
    window.dispatchEvent(new Event(online ? 'online' : 'offline'));
  });
}

function renderOffline(server) {
  const queue = createActionQueue({
    store: openActionStore({ name: `ticket-page-${(databases += 1)}` }),
    send: sendTicketAction,
    locks: null,
  });
  const view = renderWithApp(
    <OfflineQueueProvider queue={queue}>
      <OfflineStatus />
      <TicketDetailPage id="12" />
    </OfflineQueueProvider>,
  );
  return { ...view, queue, server };
}

const writes = (server) => server.requests.filter((request) => request.method !== 'GET');

describe('a ticket worked offline', () => {
  let routes;

  beforeEach(() => {
    routes = {
      ...csrfRoute,
      // What the service worker answers from its cache while the tablet is offline.
      'GET /api/tickets/12/': () => TICKET,
      'PATCH /api/tickets/12/': (request) => ({ ...TICKET, status: request.body.status }),
      'PUT /api/tickets/12/checklist/1/': (request) => ({ step: 1, done: request.body.done }),
    };
  });

  it('shows the start and tick as waiting, says so in the top bar, and sends them on reconnecting', async () => {
    const server = fakeServer(routes);
    setOnline(false);
    renderOffline(server);

    await userEvent.click(await screen.findByRole('button', { name: 'Start work' }));
    // Started as far as the technician can see: the resolve form and the checklist are open.
    expect(await screen.findByRole('form', { name: 'Resolve the ticket' })).toBeTruthy();
    await userEvent.click(screen.getByRole('checkbox'));

    const waiting = await screen.findByRole('region', { name: 'Done offline' });
    await waitFor(() => expect(within(waiting).getAllByRole('listitem')).toHaveLength(2));
    expect(within(waiting).getByText('Start work')).toBeTruthy();
    expect(within(waiting).getByText('Tick step 1')).toBeTruthy();
    expect(screen.getByText('Offline: 2 actions waiting')).toBeTruthy();
    expect(writes(server)).toEqual([]);

    setOnline(true);

    await waitFor(() => expect(writes(server)).toHaveLength(2));
    expect(writes(server).map((request) => [request.method, Boolean(request.body.done_at)])).toEqual([
      ['PATCH', true],
      ['PUT', true],
    ]);
    await waitFor(() => expect(screen.queryByRole('region', { name: 'Done offline' })).toBeNull());
  });

  it('shows an action the server refused with its reason until the technician dismisses it', async () => {
    routes['PATCH /api/tickets/12/'] = () =>
      reply(404, { detail: 'Ticket #12 is not yours any more: it is assigned to Bea Novak.' });
    const server = fakeServer(routes);
    setOnline(false);
    renderOffline(server);
    await userEvent.click(await screen.findByRole('button', { name: 'Start work' }));

    setOnline(true);

    const refused = await screen.findByRole('alert');
    expect(within(refused).getByText('Ticket #12 is not yours any more: it is assigned to Bea Novak.')).toBeTruthy();
    expect(screen.getByText('1 action not accepted')).toBeTruthy();
    // Refused, it no longer shows as done: the ticket is as the server has it.
    expect(screen.getByRole('button', { name: 'Start work' })).toBeTruthy();

    await userEvent.click(within(refused).getByRole('button', { name: 'Dismiss' }));

    await waitFor(() => expect(screen.queryByRole('alert')).toBeNull());
    expect(screen.queryByText('1 action not accepted')).toBeNull();
  });
});
