import { act, screen } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import NotificationBell from '../features/notifications/components/NotificationBell.jsx';
import { fakeServer, installFakeWebSocket } from '../test/fakes.js';
import { renderWithApp } from '../test/render.jsx';
import { PlantEventsProvider } from './PlantEvents.jsx';

describe('PlantEventsProvider', () => {
  let unread;
  let sockets;

  beforeEach(() => {
    unread = 1;
    sockets = installFakeWebSocket();
    fakeServer({ 'GET /api/notifications/unread-count/': () => ({ unread }) });
  });

  it('updates the bell when the socket says a notification was created', async () => {
    renderWithApp(
      <PlantEventsProvider>
        <NotificationBell />
      </PlantEventsProvider>,
    );
    await screen.findByRole('link', { name: 'Notifications, 1 unread' });
    act(() => sockets.latest().open());

    unread = 2;
    act(() =>
      sockets.latest().receive({
        type: 'notification.created',
        notification: { id: 8, kind: 'assigned', title: 'Ticket #44 is yours', url: '/tickets/44', ticket: 44 },
      }),
    );

    expect(await screen.findByRole('link', { name: 'Notifications, 2 unread' })).toBeTruthy();
    expect(new URL(sockets.latest().url).pathname).toBe('/ws/plant/');
  });
});
