import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { csrfRoute, fakeServer, reply } from '../../../test/fakes.js';
import { renderWithApp } from '../../../test/render.jsx';
import TicketsPage from './TicketsPage.jsx';

const TECHNICIAN = { id: 5, username: 'tech2', full_name: 'Lena Fischer', role: 'Technician' };
const MANAGER = { id: 2, username: 'manager', full_name: 'Martin Novak', role: 'Manager' };

function row(id, overrides = {}) {
  return {
    id,
    title: `Bearing wear predicted on M-0${id}`,
    machine: `M-0${id}`,
    machine_name: 'Pump',
    error_code: 'E-BRG-01',
    status: 'open',
    priority: 3,
    priority_display: 'High',
    assignee: null,
    alert: null,
    outcome: '',
    opened_at: new Date().toISOString(),
    updated_at: new Date().toISOString(),
    ...overrides,
  };
}

const section = (name) => screen.getByRole('heading', { name }).closest('section');

describe('TicketsPage', () => {
  let server;
  let tickets;

  beforeEach(() => {
    tickets = [row(12), row(13)];
    // The list as the API filters it for tech2: `mine` (theirs) or not (nobody's), by status.
    server = fakeServer({
      ...csrfRoute,
      'GET /api/tickets/': (request) => {
        const mine = request.query.get('mine');
        const whose = (ticket) =>
          mine === null || (mine === 'true' ? ticket.assignee?.id === TECHNICIAN.id : !ticket.assignee);
        const statuses = request.query.getAll('status');
        const results = tickets.filter((ticket) => whose(ticket) && statuses.includes(ticket.status));
        return { count: results.length, results };
      },
      'POST /api/tickets/12/take/': () => {
        tickets[0] = row(12, { assignee: TECHNICIAN });
        return { ...tickets[0], actions: ['start', 'comment'] };
      },
      'POST /api/tickets/13/take/': () =>
        reply(404, { detail: 'Ticket #13 is not there for you to take: another technician has it, or it does not exist.' }),
    });
  });

  it('lets a technician take an unassigned ticket, which moves it to their own', async () => {
    renderWithApp(<TicketsPage user={TECHNICIAN} />);
    expect(await within(section('Assigned to me')).findByText('Nothing assigned to you right now.')).toBeTruthy();
    const unassigned = section('Unassigned');
    const take = await within(unassigned).findByRole('button', { name: 'Take ticket #12' });

    await userEvent.click(take);

    const mine = section('Assigned to me');
    expect(await within(mine).findByText(/#12 Bearing wear predicted on M-012/)).toBeTruthy();
    await waitFor(() => expect(within(unassigned).queryByText(/#12 /)).toBeNull());
    const post = server.requests.find((r) => r.method === 'POST');
    expect(post.path).toBe('/api/tickets/12/take/');
    expect(post.headers['X-CSRFToken']).toBe('test-token');
    expect(within(unassigned).getByRole('button', { name: 'Take ticket #13' })).toBeTruthy();
  });

  it('says why when a colleague took the ticket first, and refreshes the list', async () => {
    renderWithApp(<TicketsPage user={TECHNICIAN} />);
    const unassigned = section('Unassigned');
    const listed = () => server.requests.filter((r) => r.path === '/api/tickets/' && r.query.get('mine') === 'false');
    await within(unassigned).findByRole('button', { name: 'Take ticket #13' });
    const before = listed().length;

    await userEvent.click(within(unassigned).getByRole('button', { name: 'Take ticket #13' }));

    expect((await within(unassigned).findByRole('alert')).textContent).toBe(
      'Ticket #13 is not there for you to take: another technician has it, or it does not exist.',
    );
    await waitFor(() => expect(listed().length).toBeGreaterThan(before));
  });

  it('offers managers no Take: they read every open ticket', async () => {
    tickets = [row(12), row(14, { assignee: TECHNICIAN, status: 'in_progress' })];
    renderWithApp(<TicketsPage user={MANAGER} />);

    expect(await screen.findByText(/#12 Bearing wear/)).toBeTruthy();
    expect(screen.getByText(/#14 Bearing wear/)).toBeTruthy();
    expect(screen.queryByRole('button', { name: /Take/ })).toBeNull();
  });
});
