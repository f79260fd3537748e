import { beforeEach, describe, expect, it } from 'vitest';
import { sendTicketAction } from '../../features/tickets/api/offline-actions.js';
import { csrfRoute, fakeServer, reply } from '../../test/fakes.js';
import { REFUSED, WAITING, createActionQueue } from './queue.js';
import { openActionStore } from './store.js';
import { ticketWithQueued } from './ticket-view.js';

let databases = 0;

/** A queue over a fresh IndexedDB database, with the network switched by `network.online`. */
async function makeQueue({ name = `queue-${(databases += 1)}`, network = { online: true }, clock, owner } = {}) {
  const store = await openActionStore({ name });
  let keys = 0;
  let minutes = 0;
  const queue = createActionQueue({
    store,
    send: sendTicketAction,
    now: clock ?? (() => new Date(Date.UTC(2026, 10, 27, 9, (minutes += 1)))),
    newKey: () => `key-${(keys += 1)}`,
    isOnline: () => network.online,
    locks: null,
    owner,
  });
  await queue.load();
  return { queue, store, network, name };
}

const writes = (server) => server.requests.filter((request) => request.method !== 'GET');

describe('the offline action queue', () => {
  let server;
  let ticket12;

  beforeEach(() => {
    ticket12 = { id: 12, status: 'open' };
    server = fakeServer({
      ...csrfRoute,
      'PATCH /api/tickets/12/': (request) => ({ ...ticket12, status: request.body.status }),
      'PUT /api/tickets/12/checklist/1/': (request) => ({ step: 1, done: request.body.done }),
      'POST /api/tickets/12/comments/': (request) => reply(201, { kind: 'commented', note: request.body.text }),
    });
  });

  it('sends at once when online, with an Idempotency-Key and no done_at', async () => {
    const { queue } = await makeQueue();

    const submitted = await queue.submit({ ticketId: 12, type: 'start' });

    expect(submitted.queued).toBe(false);
    const [start] = writes(server);
    expect([start.method, start.path, start.body]).toEqual(['PATCH', '/api/tickets/12/', { status: 'in_progress' }]);
    expect(start.headers['Idempotency-Key']).toBe('key-1');
    expect(queue.getSnapshot().actions).toEqual([]);
  });

  it('queues offline and, on reconnecting, sends in the order done, each with its time and key', async () => {
    const { queue, network } = await makeQueue({ network: { online: false } });

    await queue.submit({ ticketId: 12, type: 'start' });
    await queue.submit({ ticketId: 12, type: 'tick', payload: { step: 1, done: true } });
    await queue.submit({ ticketId: 12, type: 'comment', payload: { text: 'Coupling worn' } });
    await queue.submit({
      ticketId: 12,
      type: 'resolve',
      payload: { outcome: 'preventive_fix', found_failure_mode: 'imbalance', notes: 'Coupling replaced' },
    });

    expect(writes(server)).toEqual([]);
    expect(queue.getSnapshot().actions.map((action) => [action.type, action.state])).toEqual([
      ['start', WAITING],
      ['tick', WAITING],
      ['comment', WAITING],
      ['resolve', WAITING],
    ]);

    network.online = true;
    await queue.flush();

    expect(
      writes(server).map((request) => [
        request.method,
        request.path,
        request.body.done_at,
        request.headers['Idempotency-Key'],
      ]),
    ).toEqual([
      ['PATCH', '/api/tickets/12/', '2026-11-27T09:01:00.000Z', 'key-1'],
      ['PUT', '/api/tickets/12/checklist/1/', '2026-11-27T09:02:00.000Z', 'key-2'],
      ['POST', '/api/tickets/12/comments/', '2026-11-27T09:03:00.000Z', 'key-3'],
      ['PATCH', '/api/tickets/12/', '2026-11-27T09:04:00.000Z', 'key-4'],
    ]);
    expect(writes(server)[3].body).toMatchObject({ status: 'resolved', outcome: 'preventive_fix', notes: 'Coupling replaced' });
    expect(queue.getSnapshot().actions).toEqual([]);
  });

  it('queues an action whose request could not reach the server, under the same key', async () => {
    let reachable = false;
    server = fakeServer({
      ...csrfRoute,
      'PATCH /api/tickets/12/': (request) => {
        if (!reachable) throw new TypeError('Failed to fetch');
        return { ...ticket12, status: request.body.status };
      },
    });
    const { queue } = await makeQueue();

    const submitted = await queue.submit({ ticketId: 12, type: 'start' });
    expect(submitted.queued).toBe(true);
    // Queued while the browser says it is online: tried again at once, and still unreachable.
    await queue.flush();
    expect(queue.getSnapshot().problem).toMatch(/Could not reach/);
    expect(queue.getSnapshot().actions.map((action) => action.state)).toEqual([WAITING]);

    reachable = true;
    await queue.flush();

    const keys = writes(server).map((request) => request.headers['Idempotency-Key']);
    expect(keys).toEqual(['key-1', 'key-1', 'key-1']);
    expect(queue.getSnapshot().actions).toEqual([]);
  });

  it('keeps an action the server refuses, with its reason, sends the ones after it, and forgets it once dismissed', async () => {
    server = fakeServer({
      ...csrfRoute,
      'PATCH /api/tickets/12/': () => reply(404, { detail: 'Ticket #12 is not yours any more: it is assigned to Bea Novak.' }),
      'POST /api/tickets/13/comments/': (request) => reply(201, { note: request.body.text }),
    });
    const { queue, network } = await makeQueue({ network: { online: false } });
    await queue.submit({ ticketId: 12, type: 'start' });
    await queue.submit({ ticketId: 13, type: 'comment', payload: { text: 'Guard refitted' } });

    network.online = true;
    await queue.flush();

    const [refused] = queue.getSnapshot().actions;
    expect(queue.getSnapshot().actions).toHaveLength(1);
    expect([refused.type, refused.ticketId, refused.state, refused.status, refused.reason]).toEqual([
      'start',
      12,
      REFUSED,
      404,
      'Ticket #12 is not yours any more: it is assigned to Bea Novak.',
    ]);
    expect(writes(server).map((request) => request.path)).toEqual(['/api/tickets/12/', '/api/tickets/13/comments/']);

    // A later flush does not send a refused action again.
    await queue.flush();
    expect(writes(server)).toHaveLength(2);

    await queue.dismiss(refused.seq);
    expect(queue.getSnapshot().actions).toEqual([]);
  });

  it('keeps a photo taken offline and uploads it with the time it was taken', async () => {
    server = fakeServer({
      ...csrfRoute,
      'POST /api/tickets/12/photos/': (request) => reply(201, { id: 1, caption: request.body.get('caption') }),
    });
    const { queue, network } = await makeQueue({ network: { online: false } });
    const image = { bytes: new Uint8Array([0xff, 0xd8, 0xff, 0xd9]).buffer, name: 'IMG_0042.jpg', type: 'image/jpeg' };

    await queue.submit({ ticketId: 12, type: 'photo', payload: { image, caption: 'Worn bearing' } });
    network.online = true;
    await queue.flush();

    const [upload] = writes(server);
    expect(upload.path).toBe('/api/tickets/12/photos/');
    expect([upload.body.get('caption'), upload.body.get('done_at')]).toEqual(['Worn bearing', '2026-11-27T09:01:00.000Z']);
    const sent = upload.body.get('image');
    expect([sent.name, sent.type, sent.size]).toEqual(['IMG_0042.jpg', 'image/jpeg', 4]);
    expect(queue.getSnapshot().actions).toEqual([]);
  });

  it('stops at a server error and keeps the order for the next try', async () => {
    let failing = true;
    server = fakeServer({
      ...csrfRoute,
      'PATCH /api/tickets/12/': (request) => (failing ? reply(503, {}) : { status: request.body.status }),
      'POST /api/tickets/12/comments/': (request) => reply(201, { note: request.body.text }),
    });
    const { queue, network } = await makeQueue({ network: { online: false } });
    await queue.submit({ ticketId: 12, type: 'start' });
    await queue.submit({ ticketId: 12, type: 'comment', payload: { text: 'Started' } });
    network.online = true;

    await queue.flush();
    expect(writes(server).map((request) => request.method)).toEqual(['PATCH']);
    expect(queue.getSnapshot().actions.map((action) => action.state)).toEqual([WAITING, WAITING]);

    failing = false;
    await queue.flush();
    expect(writes(server).map((request) => request.method)).toEqual(['PATCH', 'PATCH', 'POST']);
    expect(queue.getSnapshot().actions).toEqual([]);
  });

  it('while actions wait, a new one joins the queue behind them even online', async () => {
    const { queue, network } = await makeQueue({ network: { online: false } });
    await queue.submit({ ticketId: 12, type: 'start' });
    network.online = true;

    const submitted = await queue.submit({ ticketId: 12, type: 'comment', payload: { text: 'On site' } });
    await queue.flush();

    expect(submitted.queued).toBe(true);
    expect(writes(server).map((request) => request.method)).toEqual(['PATCH', 'POST']);
  });

  it('keeps what waits across a reload of the page', async () => {
    const first = await makeQueue({ network: { online: false } });
    await first.queue.submit({ ticketId: 12, type: 'start' });
    first.store.close();

    const { queue } = await makeQueue({ name: first.name, network: { online: true } });
    expect(queue.getSnapshot().actions.map((action) => [action.type, action.key])).toEqual([['start', 'key-1']]);
    await queue.flush();

    expect(writes(server).map((request) => request.headers['Idempotency-Key'])).toEqual(['key-1']);
  });
});

describe('actions of another person on the same tablet', () => {
  it('are neither shown nor sent until their owner signs in again', async () => {
    const server = fakeServer({ ...csrfRoute, 'PATCH /api/tickets/12/': (request) => ({ status: request.body.status }) });
    const session = { user: 'tech1' };
    const { queue, network } = await makeQueue({ network: { online: false }, owner: () => session.user });
    await queue.submit({ ticketId: 12, type: 'start' });
    expect(queue.getSnapshot().actions.map((action) => action.owner)).toEqual(['tech1']);

    session.user = 'tech2';
    network.online = true;
    await queue.load();
    await queue.flush();

    expect(queue.getSnapshot().actions).toEqual([]);
    expect(writes(server)).toEqual([]);

    session.user = 'tech1';
    await queue.load();
    await queue.flush();

    expect(writes(server).map((request) => request.body.status)).toEqual(['in_progress']);
    expect(queue.getSnapshot().actions).toEqual([]);
  });
});

describe('ticketWithQueued', () => {
  const ticket = {
    id: 12,
    status: 'open',
    actions: ['start', 'comment', 'add_photo'],
    checklist: [{ step: 2, done: true, done_at: '2026-11-27T08:59:00Z', done_by: 'tech2' }],
    events: [{ at: '2026-11-27T09:00:00Z', kind: 'assigned', note: 'Auto-assigned' }],
  };
  const action = (seq, type, payload = {}, state = WAITING, ticketId = 12) => ({
    seq,
    ticketId,
    type,
    payload,
    state,
    doneAt: `2026-11-27T09:0${seq}:00.000Z`,
  });

  it('shows the waiting start, ticks and resolve before the server has them', () => {
    const shown = ticketWithQueued(ticket, [
      action(1, 'start'),
      action(2, 'tick', { step: 1, done: true }),
      action(3, 'resolve', { outcome: 'false_alarm', notes: 'Nothing found' }),
      action(4, 'comment', { text: 'for another ticket' }, WAITING, 99),
    ]);

    expect([shown.status, shown.started_at, shown.resolved_at, shown.resolution_notes]).toEqual([
      'resolved',
      '2026-11-27T09:01:00.000Z',
      '2026-11-27T09:03:00.000Z',
      'Nothing found',
    ]);
    expect(shown.checklist.map((tick) => [tick.step, tick.done, Boolean(tick.queued)])).toEqual([
      [1, true, true],
      [2, true, false],
    ]);
    expect(shown.events.filter((event) => event.queued).map((event) => event.to_status)).toEqual(['in_progress', 'resolved']);
    expect(shown.actions).toEqual(['comment', 'add_photo']);
  });

  it('leaves out a refused action: the ticket shows what the server has', () => {
    expect(ticketWithQueued(ticket, [action(1, 'start', {}, REFUSED)])).toMatchObject({ status: 'open' });
  });
});
