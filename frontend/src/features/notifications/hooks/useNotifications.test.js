import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createQueryClient } from '../../../lib/query-client.js';
import { csrfRoute, fakeServer, installFakePush, uninstallFakePush } from '../../../test/fakes.js';
import { notificationEventApply, notificationKeys } from './useNotifications.js';

const FRAME = {
  type: 'notification.created',
  notification: {
    id: 7,
    kind: 'assigned',
    title: 'Ticket #43 is yours',
    body: 'Bearing wear predicted on M-007',
    url: '/tickets/43',
    ticket: 43,
    created_at: '2026-11-27T09:00:00Z',
    read_at: null,
  },
};

function tabShown(state) {
  Object.defineProperty(document, 'visibilityState', { configurable: true, value: state });
}

describe('notificationEventApply', () => {
  let queryClient;
  let open;

  beforeEach(() => {
    queryClient = createQueryClient();
    open = vi.fn();
  });

  afterEach(() => {
    delete document.visibilityState;
    uninstallFakePush();
  });

  it('makes the bell and the list fetch again', async () => {
    queryClient.setQueryData(notificationKeys.unreadCount, { unread: 1 });
    queryClient.setQueryData(notificationKeys.list({}), { results: [] });
    tabShown('visible');

    await notificationEventApply(queryClient, FRAME, { open });

    expect(queryClient.getQueryState(notificationKeys.unreadCount).isInvalidated).toBe(true);
    expect(queryClient.getQueryState(notificationKeys.list({})).isInvalidated).toBe(true);
  });

  it('shows a browser notification in a hidden tab, which opens the ticket when clicked', async () => {
    const browser = installFakePush({ permission: 'granted' });
    fakeServer({ ...csrfRoute, 'GET /api/notifications/channels/': () => ({ push: true, email: false, in_app: true }) });
    tabShown('hidden');
    const focus = vi.spyOn(window, 'focus').mockImplementation(() => {});

    const shown = await notificationEventApply(queryClient, FRAME, { open });

    expect(browser.Notification.shown).toEqual([shown]);
    expect(shown.title).toBe('Ticket #43 is yours');
    expect(shown.options).toEqual({ body: 'Bearing wear predicted on M-007', tag: 'ticket-43' });
    shown.onclick();
    expect(focus).toHaveBeenCalled();
    expect(open).toHaveBeenCalledWith('/tickets/43');
    expect(shown.close).toHaveBeenCalled();
  });

  it('shows none while the tab is in view: the bell says it', async () => {
    const browser = installFakePush({ permission: 'granted' });
    fakeServer({ 'GET /api/notifications/channels/': () => ({ push: false, email: false, in_app: true }) });
    tabShown('visible');

    expect(await notificationEventApply(queryClient, FRAME, { open })).toBeNull();
    expect(browser.Notification.shown).toEqual([]);
  });

  it('shows none without the browser permission', async () => {
    const browser = installFakePush({ permission: 'default' });
    fakeServer({ 'GET /api/notifications/channels/': () => ({ push: false, email: false, in_app: true }) });
    tabShown('hidden');

    expect(await notificationEventApply(queryClient, FRAME, { open })).toBeNull();
    expect(browser.Notification.shown).toEqual([]);
  });

  it('leaves it to the push when this device is subscribed and the user has push on', async () => {
    const browser = installFakePush({ permission: 'granted', subscribed: true });
    fakeServer({ 'GET /api/notifications/channels/': () => ({ push: true, email: false, in_app: true }) });
    tabShown('hidden');

    expect(await notificationEventApply(queryClient, FRAME, { open })).toBeNull();
    expect(browser.Notification.shown).toEqual([]);
  });

  it('ignores the other frames of the plant socket', () => {
    expect(notificationEventApply(queryClient, { type: 'ticket', id: 43 }, { open })).toBeNull();
  });
});
