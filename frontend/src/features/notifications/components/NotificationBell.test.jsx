import { screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { fakeServer } from '../../../test/fakes.js';
import { renderWithApp } from '../../../test/render.jsx';
import NotificationBell from './NotificationBell.jsx';

describe('NotificationBell', () => {
  it('shows the unread count as a badge and says it in its label', async () => {
    fakeServer({ 'GET /api/notifications/unread-count/': () => ({ unread: 3 }) });
    renderWithApp(<NotificationBell />);

    const bell = await screen.findByRole('link', { name: 'Notifications, 3 unread' });
    expect(bell.getAttribute('href')).toBe('/notifications');
    expect(bell.textContent).toBe('3');
  });

  it('shows no badge when everything is read', async () => {
    fakeServer({ 'GET /api/notifications/unread-count/': () => ({ unread: 0 }) });
    renderWithApp(<NotificationBell />);

    const bell = await screen.findByRole('link', { name: 'Notifications, 0 unread' });
    // The count has come (the label reads 0 before it, too).
    await waitFor(() => expect(bell.dataset.unread).toBe('0'));
    expect(bell.querySelector('.bell__badge')).toBeNull();
  });

  it('caps a long count on the badge but not in the label', async () => {
    fakeServer({ 'GET /api/notifications/unread-count/': () => ({ unread: 140 }) });
    renderWithApp(<NotificationBell />);

    const bell = await screen.findByRole('link', { name: 'Notifications, 140 unread' });
    expect(bell.textContent).toBe('99+');
  });
});
