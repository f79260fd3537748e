import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { csrfRoute, fakeServer, reply } from '../../../test/fakes.js';
import { renderWithApp } from '../../../test/render.jsx';
import TicketDetailPage from './TicketDetailPage.jsx';

const SOP = {
  id: 3,
  title: 'Restore lubrication of a screw compressor',
  version: 2,
  summary: 'Oil level, filter and temperature.',
  error_codes: ['E-LUB-01'],
  estimated_minutes: 40,
  steps: [
    { order: 1, instruction: 'Lock out and tag out the compressor.', warning: 'Stored pressure', tools: ['LOTO kit'], estimated_minutes: 10 },
    { order: 2, instruction: 'Check the oil level and top up.', warning: '', tools: [], estimated_minutes: 30 },
  ],
};

function ticket(overrides = {}) {
  return {
    id: 12,
    title: 'Lubrication loss predicted on M-007',
    machine: 'M-007',
    machine_name: 'Air compressor 1',
    error_code: 'E-LUB-01',
    status: 'open',
    priority: 3,
    priority_display: 'High',
    assignee: { id: 5, username: 'tech2', full_name: 'Lena Fischer' },
    alert: 7,
    outcome: '',
    found_failure_mode: '',
    predicted_failure_mode: 'lubrication_loss',
    opened_at: '2026-11-27T09:00:00Z',
    assigned_at: '2026-11-27T09:00:00Z',
    started_at: null,
    resolved_at: null,
    escalated_at: null,
    updated_at: '2026-11-27T09:00:00Z',
    description: 'Predicted lubrication loss within 24 h.',
    sop: SOP,
    probability: 0.93,
    explanation: ['oil temperature 14 °C above its 12-hour level'],
    rul: { hours: 5, low_hours: 2, high_hours: 9 },
    evidence: { window: { from: '2026-11-27T08:00:00Z', to: '2026-11-27T09:00:00Z', metrics: {} } },
    resolution_notes: '',
    events: [{ at: '2026-11-27T09:00:00Z', kind: 'assigned', actor: null, assignee: 'tech2', note: 'Auto-assigned' }],
    actions: [],
    ...overrides,
  };
}

describe('TicketDetailPage', () => {
  let server;
  let current;

  beforeEach(() => {
    current = ticket({ actions: ['start', 'comment'] });
    server = fakeServer({
      ...csrfRoute,
      'GET /api/tickets/12/': () => current,
      'PATCH /api/tickets/12/': (request) => {
        if (request.body.status === 'in_progress') {
          current = ticket({ status: 'in_progress', started_at: '2026-11-27T09:05:00Z', actions: ['resolve', 'comment'] });
          return current;
        }
        if (!request.body.notes) return reply(400, { detail: 'Resolving a ticket needs notes.' });
        current = ticket({
          status: 'resolved',
          outcome: request.body.outcome,
          found_failure_mode: request.body.found_failure_mode,
          resolution_notes: request.body.notes,
          resolved_at: '2026-11-27T09:40:00Z',
          actions: [],
        });
        return current;
      },
      'PUT /api/tickets/12/checklist/1/': (request) => {
        const tick = { step: 1, done: request.body.done, done_at: '2026-11-27T09:06:00Z', done_by: 'tech2' };
        current = { ...current, checklist: [tick] };
        return tick;
      },
    });
  });

  it('shows the assigned technician the SOP, the why and a Start button; starting offers the resolve form', async () => {
    renderWithApp(<TicketDetailPage id="12" />);

    expect(await screen.findByRole('heading', { name: /Lubrication loss predicted on M-007/ })).toBeTruthy();
    expect(screen.getByText('Lock out and tag out the compressor.')).toBeTruthy();
    expect(screen.getByText('oil temperature 14 °C above its 12-hour level')).toBeTruthy();
    expect(screen.queryByRole('form', { name: 'Resolve the ticket' })).toBeNull();
    // The checklist is for the work itself: it opens once the ticket is started.
    expect(screen.getAllByRole('checkbox').every((box) => box.disabled)).toBe(true);

    await userEvent.click(screen.getByRole('button', { name: 'Start work' }));

    const form = await screen.findByRole('form', { name: 'Resolve the ticket' });
    const patch = server.requests.find((r) => r.method === 'PATCH');
    expect(patch.body).toEqual({ status: 'in_progress' });
    expect(patch.headers['X-CSRFToken']).toBe('test-token');
    expect(screen.queryByRole('button', { name: 'Start work' })).toBeNull();
    const [firstStep] = screen.getAllByRole('checkbox');
    await userEvent.click(firstStep);
    // The tick is kept on the server, and the page shows what the server kept.
    const put = server.requests.find((r) => r.method === 'PUT');
    expect([put.path, put.body]).toEqual(['/api/tickets/12/checklist/1/', { done: true }]);
    await waitFor(() =>
      expect(within(form.ownerDocument.body).getByLabelText('Steps done').textContent).toMatch(/^1 \/ 2 steps/),
    );
  });

  it('shows a step ticked in the click itself, before the tick is sent', async () => {
    current = ticket({ status: 'in_progress', started_at: '2026-11-27T09:05:00Z', actions: ['resolve', 'comment'] });
    renderWithApp(<TicketDetailPage id="12" />);
    const [firstStep] = await screen.findAllByRole('checkbox');

    // No await: what the box shows as the click's event ends, as a browser (or a test robot) reads it.
    fireEvent.click(firstStep);
    expect(firstStep.checked).toBe(true);

    await waitFor(() => expect(server.requests.some((r) => r.method === 'PUT')).toBe(true));
    await waitFor(() => expect(screen.getByLabelText('Steps done').textContent).toMatch(/^1 \/ 2 steps/));
    expect(screen.getAllByRole('checkbox')[0].checked).toBe(true);
  });

  it('keeps a step ticked while the ticket is fetched again after the server took the tick', async () => {
    current = ticket({ status: 'in_progress', started_at: '2026-11-27T09:05:00Z', actions: ['resolve', 'comment'] });
    renderWithApp(<TicketDetailPage id="12" />);
    const [firstStep] = await screen.findAllByRole('checkbox');
    // From the tick on, the ticket is slow to come back: what shows meanwhile is the tick's answer.
    let refetching = false;
    let answerTicket;
    const ticketHeld = new Promise((resolve) => (answerTicket = resolve));
    const answer = server.fetch.getMockImplementation();
    server.fetch.mockImplementation(async (input, init = {}) => {
      if ((init.method ?? 'GET') === 'GET' && String(input).endsWith('/api/tickets/12/')) {
        refetching = true;
        await ticketHeld;
      }
      return answer(input, init);
    });

    await userEvent.click(firstStep);

    await waitFor(() => expect(refetching).toBe(true));
    expect(server.requests.find((r) => r.method === 'PUT').body).toEqual({ done: true });
    expect(screen.getAllByRole('checkbox')[0].checked).toBe(true);
    expect(screen.getByLabelText('Steps done').textContent).toMatch(/^1 \/ 2 steps/);
    answerTicket();
  });

  it('resolves with an outcome and notes', async () => {
    current = ticket({ status: 'in_progress', actions: ['resolve', 'comment'] });
    renderWithApp(<TicketDetailPage id="12" />);
    const form = await screen.findByRole('form', { name: 'Resolve the ticket' });
    const submit = within(form).getByRole('button', { name: 'Resolve ticket' });
    expect(submit.disabled).toBe(true); // outcome and notes first

    await userEvent.click(within(form).getByLabelText(/Failure confirmed/));
    await userEvent.type(within(form).getByLabelText(/Notes/), 'Oil line clogged; cleaned and refilled.');
    await userEvent.click(submit);

    expect(await screen.findByRole('heading', { name: 'Resolution' })).toBeTruthy();
    const patch = server.requests.filter((r) => r.method === 'PATCH').at(-1);
    expect(patch.body).toEqual({
      status: 'resolved',
      outcome: 'failure_confirmed',
      found_failure_mode: 'lubrication_loss',
      notes: 'Oil line clogged; cleaned and refilled.',
    });
    expect(screen.getByText('Oil line clogged; cleaned and refilled.')).toBeTruthy();
  });

  describe('what did you find', () => {
    beforeEach(() => {
      current = ticket({ status: 'in_progress', actions: ['resolve', 'comment'] });
    });

    it('offers the predicted failure mode, and sends the one the technician found instead', async () => {
      renderWithApp(<TicketDetailPage id="12" />);
      const form = await screen.findByRole('form', { name: 'Resolve the ticket' });
      const found = within(form).getByLabelText('What did you find?');
      expect(found.value).toBe('lubrication_loss');
      expect(within(form).getByText('Predicted: Lubrication loss. Change it if you found something else.')).toBeTruthy();

      await userEvent.click(within(form).getByLabelText(/Preventive fix/));
      await userEvent.selectOptions(found, 'Overheating');
      await userEvent.type(within(form).getByLabelText(/Notes/), 'Cooling fan blocked; cleaned it.');
      await userEvent.click(within(form).getByRole('button', { name: 'Resolve ticket' }));

      const resolution = (await screen.findByRole('heading', { name: 'Resolution' })).closest('section');
      const patch = server.requests.filter((r) => r.method === 'PATCH').at(-1);
      expect(patch.body.found_failure_mode).toBe('overheating');
      expect(resolution.querySelector('.resolution__found').textContent).toBe(
        'Found Overheating (predicted Lubrication loss)',
      );
    });

    it('asks no failure mode for a false alarm and sends none', async () => {
      renderWithApp(<TicketDetailPage id="12" />);
      const form = await screen.findByRole('form', { name: 'Resolve the ticket' });

      await userEvent.click(within(form).getByLabelText(/False alarm/));
      expect(within(form).queryByLabelText('What did you find?')).toBeNull();
      await userEvent.type(within(form).getByLabelText(/Notes/), 'Bearing sounds fine.');
      await userEvent.click(within(form).getByRole('button', { name: 'Resolve ticket' }));

      await screen.findByRole('heading', { name: 'Resolution' });
      const patch = server.requests.filter((r) => r.method === 'PATCH').at(-1);
      expect(patch.body).toEqual({
        status: 'resolved',
        outcome: 'false_alarm',
        found_failure_mode: '',
        notes: 'Bearing sounds fine.',
      });
      expect(document.querySelector('.resolution__found')).toBeNull();
    });

    it('waits for a failure mode to be chosen on a ticket that predicted none', async () => {
      current = ticket({ status: 'in_progress', predicted_failure_mode: null, actions: ['resolve', 'comment'] });
      renderWithApp(<TicketDetailPage id="12" />);
      const form = await screen.findByRole('form', { name: 'Resolve the ticket' });
      const submit = within(form).getByRole('button', { name: 'Resolve ticket' });
      const found = within(form).getByLabelText('What did you find?');
      expect(found.value).toBe('');
      expect(within(form).getByText('No failure mode was predicted for this ticket.')).toBeTruthy();

      await userEvent.click(within(form).getByLabelText(/Failure confirmed/));
      await userEvent.type(within(form).getByLabelText(/Notes/), 'Motor winding burnt.');
      expect(submit.disabled).toBe(true);
      await userEvent.selectOptions(found, 'Electrical fault');
      expect(submit.disabled).toBe(false);
    });

    it("shows the server's refusal of the failure mode found", async () => {
      server = fakeServer({
        ...csrfRoute,
        'GET /api/tickets/12/': () => current,
        'PATCH /api/tickets/12/': () =>
          reply(400, { found_failure_mode: ['Say which failure mode you found (failure confirmed).'] }),
      });
      renderWithApp(<TicketDetailPage id="12" />);
      const form = await screen.findByRole('form', { name: 'Resolve the ticket' });
      await userEvent.click(within(form).getByLabelText(/Failure confirmed/));
      await userEvent.type(within(form).getByLabelText(/Notes/), 'Oil line clogged.');

      await userEvent.click(within(form).getByRole('button', { name: 'Resolve ticket' }));

      expect((await within(form).findByRole('alert')).textContent).toBe(
        'found_failure_mode: Say which failure mode you found (failure confirmed).',
      );
    });
  });

  it('shows the reason when the server refuses a change', async () => {
    current = ticket({ status: 'in_progress', actions: ['resolve', 'comment'] });
    server = fakeServer({
      ...csrfRoute,
      'GET /api/tickets/12/': () => current,
      'PATCH /api/tickets/12/': () => reply(400, { detail: 'Ticket #12 was reassigned to tech3 meanwhile.' }),
    });
    renderWithApp(<TicketDetailPage id="12" />);
    const form = await screen.findByRole('form', { name: 'Resolve the ticket' });
    await userEvent.click(within(form).getByLabelText(/False alarm/));
    await userEvent.type(within(form).getByLabelText(/Notes/), 'Bearing sounds fine.');

    await userEvent.click(within(form).getByRole('button', { name: 'Resolve ticket' }));

    expect((await within(form).findByRole('alert')).textContent).toBe('Ticket #12 was reassigned to tech3 meanwhile.');
    expect(within(form).getByLabelText(/Notes/).value).toBe('Bearing sounds fine.'); // nothing typed is lost
  });

  it('lets a technician take a ticket nobody has, and then start it', async () => {
    current = ticket({ assignee: null, actions: ['take'] });
    server = fakeServer({
      ...csrfRoute,
      'GET /api/tickets/12/': () => current,
      'POST /api/tickets/12/take/': () => {
        current = ticket({ actions: ['start', 'comment'] }); // now assigned to tech2, Lena Fischer
        return current;
      },
    });
    renderWithApp(<TicketDetailPage id="12" />);
    expect(await screen.findByText(/Nobody has this ticket yet/)).toBeTruthy();
    expect(screen.getByText(/· unassigned$/)).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Start work' })).toBeNull();

    await userEvent.click(screen.getByRole('button', { name: 'Take ticket' }));

    expect(await screen.findByRole('button', { name: 'Start work' })).toBeTruthy();
    expect(screen.getByText(/assigned to Lena Fischer/)).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Take ticket' })).toBeNull();
    const take = server.requests.find((r) => r.method === 'POST');
    expect(take.headers['X-CSRFToken']).toBe('test-token');
    expect(take.path).toBe('/api/tickets/12/take/');
  });

  it('keeps the ticket on screen and says why when someone else took it first', async () => {
    // The page as it was before the colleague took it; since then the ticket is theirs, which
    // this technician may no longer see.
    let taken = false;
    server = fakeServer({
      ...csrfRoute,
      'GET /api/tickets/12/': () =>
        taken ? reply(404, { detail: 'No Ticket matches the given query.' }) : ticket({ assignee: null, actions: ['take'] }),
      'POST /api/tickets/12/take/': () => {
        taken = true;
        return reply(404, {
          detail: 'Ticket #12 is not there for you to take: another technician has it, or it does not exist.',
        });
      },
    });
    renderWithApp(<TicketDetailPage id="12" />);

    await userEvent.click(await screen.findByRole('button', { name: 'Take ticket' }));

    expect((await screen.findByRole('alert')).textContent).toMatch(/another technician has it/);
    expect(screen.getByRole('heading', { name: /Lubrication loss predicted on M-007/ })).toBeTruthy();
    expect(server.requests.filter((r) => r.path === '/api/tickets/12/')).toHaveLength(1); // not refetched into a 404
  });

  it('gives a manager the ticket to read, without workflow buttons', async () => {
    current = ticket({ actions: [] });
    renderWithApp(<TicketDetailPage id="12" />);

    expect(await screen.findByText(/Assigned to Lena Fischer: only they or a supervisor work on it/)).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Start work' })).toBeNull();
    expect(screen.queryByRole('form', { name: 'Resolve the ticket' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Comment' })).toBeNull();
    expect(screen.getByText('Lock out and tag out the compressor.')).toBeTruthy();
  });

  it('says so when the ticket cannot be loaded', async () => {
    server = fakeServer({ 'GET /api/tickets/12/': () => reply(404, { detail: 'No Ticket matches the given query.' }) });
    renderWithApp(<TicketDetailPage id="12" />);

    expect(await screen.findByText('Could not load ticket #12')).toBeTruthy();
    expect(screen.getByText('No Ticket matches the given query.')).toBeTruthy();
  });

  describe('what raised the alert', () => {
    it.each([
      ['prediction', 'failure forest'],
      ['rule', 'alarm rule'],
      ['anomaly', 'health model'],
      ['machine', 'reported by the machine'],
    ])('says what raised a %s alert: %s', async (source, label) => {
      current = ticket({ alert_source: source });
      const { container } = renderWithApp(<TicketDetailPage id="12" />);
      const why = (await screen.findByRole('heading', { name: 'Why this ticket' })).closest('section');
      expect(await within(why).findByText(label)).toBeTruthy();
      expect(within(why).getByText('What raised the alert')).toBeTruthy();
      expect(container.querySelector('.ticket-page__origin').dataset.source).toBe(source);
    });

    it('says nothing of an alert for a ticket without one', async () => {
      current = ticket({ alert: null, alert_source: null, probability: null, explanation: [] });
      renderWithApp(<TicketDetailPage id="12" />);
      expect(await screen.findByRole('heading', { name: 'Why this ticket' })).toBeTruthy();
      expect(screen.queryByText('What raised the alert')).toBeNull();
    });
  });
});
