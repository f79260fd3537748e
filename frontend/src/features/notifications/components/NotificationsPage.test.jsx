import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Route, Routes } from 'react-router';
import { beforeEach, describe, expect, it } from 'vitest';
import { csrfRoute, fakeServer } from '../../../test/fakes.js';
import { renderWithApp } from '../../../test/render.jsx';
import NotificationBell from './NotificationBell.jsx';
import NotificationsPage from './NotificationsPage.jsx';

function notification(id, overrides = {}) {
  return {
    id,
    kind: 'assigned',
    title: `Ticket #${id + 40} is yours`,
    body: 'Bearing wear predicted on M-007',
    url: `/tickets/${id + 40}`,
    ticket: id + 40,
    created_at: `2026-11-27T09:0${id}:00Z`,
    read_at: null,
    ...overrides,
  };
}

const READ_AT = '2026-11-27T10:00:00Z';

describe('NotificationsPage', () => {
  let server;
  let stored;

  beforeEach(() => {
    stored = [
      notification(3, { kind: 'escalated', title: 'Ticket #43 escalated to you' }),
      notification(2, { kind: 'commented', title: 'New comment on ticket #42', body: 'Seal replaced?' }),
      notification(1, { read_at: '2026-11-27T09:30:00Z' }),
    ];
    const unread = () => stored.filter((item) => !item.read_at).length;
    server = fakeServer({
      ...csrfRoute,
      'GET /api/notifications/': () => ({ count: stored.length, next: null, previous: null, results: stored }),
      'GET /api/notifications/unread-count/': () => ({ unread: unread() }),
      'POST /api/notifications/2/read/': () => {
        stored = stored.map((item) => (item.id === 2 ? { ...item, read_at: READ_AT } : item));
        return stored.find((item) => item.id === 2);
      },
      'POST /api/notifications/read-all/': () => {
        const marked = unread();
        stored = stored.map((item) => ({ ...item, read_at: item.read_at ?? READ_AT }));
        return { marked };
      },
    });
  });

  function renderPage() {
    return renderWithApp(
      <>
        <NotificationBell />
        <Routes>
          <Route path="/notifications" element={<NotificationsPage />} />
          <Route path="/tickets/:id" element={<h1>Ticket page</h1>} />
        </Routes>
      </>,
      { route: '/notifications' },
    );
  }

  it('lists the notifications newest first, the unread ones marked, each linking to its ticket', async () => {
    renderPage();

    const list = await screen.findByRole('list', { name: 'Notifications' });
    const items = within(list).getAllByRole('listitem');
    expect(items.map((item) => within(item).getByRole('link').getAttribute('href'))).toEqual([
      '/tickets/43',
      '/tickets/42',
      '/tickets/41',
    ]);
    expect(within(items[0]).getByText('Escalated')).toBeTruthy();
    expect(within(items[1]).getByText('Seal replaced?')).toBeTruthy();
    expect(items.map((item) => item.textContent.startsWith('Unread: '))).toEqual([true, true, false]);
    await screen.findByRole('link', { name: 'Notifications, 2 unread' });
  });

  it('marks a notification read when it is opened and goes to its ticket', async () => {
    renderPage();

    await userEvent.click(await screen.findByRole('link', { name: /New comment on ticket #42/ }));

    expect(await screen.findByRole('heading', { name: 'Ticket page' })).toBeTruthy();
    await screen.findByRole('link', { name: 'Notifications, 1 unread' });
    const posts = server.requests.filter((request) => request.method === 'POST');
    expect(posts.map((request) => request.path)).toEqual(['/api/notifications/2/read/']);
    expect(posts[0].headers['X-CSRFToken']).toBe('test-token');
  });

  it('opens a read notification without marking it again', async () => {
    renderPage();

    await userEvent.click(await screen.findByRole('link', { name: /Ticket #41 is yours/ }));

    expect(await screen.findByRole('heading', { name: 'Ticket page' })).toBeTruthy();
    expect(server.requests.filter((request) => request.method === 'POST')).toEqual([]);
  });

  it('marks all read at once', async () => {
    renderPage();
    await screen.findByRole('link', { name: 'Notifications, 2 unread' });

    await userEvent.click(screen.getByRole('button', { name: 'Mark all read' }));

    await screen.findByRole('link', { name: 'Notifications, 0 unread' });
    await waitFor(() =>
      expect(screen.getAllByRole('listitem').every((item) => !item.classList.contains('notification--unread'))).toBe(
        true,
      ),
    );
    expect(screen.getByRole('button', { name: 'Mark all read' }).disabled).toBe(true);
    expect(server.requests.filter((request) => request.method === 'POST').map((request) => request.path)).toEqual([
      '/api/notifications/read-all/',
    ]);
  });

  it('shows older notifications on request, a page at a time', async () => {
    const older = notification(0, { title: 'Ticket #40 is yours', read_at: '2026-11-27T08:30:00Z' });
    server = fakeServer({
      'GET /api/notifications/': (request) =>
        request.query.get('offset') === '0'
          ? { count: 4, next: '/api/notifications/?limit=50&offset=3', previous: null, results: stored }
          : { count: 4, next: null, previous: '/api/notifications/?limit=50', results: [older] },
      'GET /api/notifications/unread-count/': () => ({ unread: 2 }),
    });
    renderPage();
    await screen.findByRole('link', { name: /Ticket #43 escalated to you/ });
    expect(screen.queryByRole('link', { name: /Ticket #40 is yours/ })).toBeNull();

    await userEvent.click(screen.getByRole('button', { name: 'Show older' }));

    expect(await screen.findByRole('link', { name: /Ticket #40 is yours/ })).toBeTruthy();
    expect(screen.getAllByRole('listitem')).toHaveLength(4);
    const pages = server.requests.filter((request) => request.path === '/api/notifications/');
    expect(pages.map((request) => request.query.get('offset'))).toEqual(['0', '3']);
    expect(screen.queryByRole('button', { name: 'Show older' })).toBeNull();
  });

  it('says so when there is nothing yet', async () => {
    stored = [];
    renderPage();

    expect(await screen.findByText('No notifications yet')).toBeTruthy();
    await screen.findByRole('link', { name: 'Notifications, 0 unread' });
  });
});
