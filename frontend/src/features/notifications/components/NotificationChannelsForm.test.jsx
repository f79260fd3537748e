import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { csrfRoute, fakeServer, reply } from '../../../test/fakes.js';
import { renderWithApp } from '../../../test/render.jsx';
import NotificationChannelsForm from './NotificationChannelsForm.jsx';

const SAVED = { push: true, email: false, in_app: true };

describe('NotificationChannelsForm', () => {
  it('shows the saved channels and saves the changed choice with PUT', async () => {
    const server = fakeServer({
      ...csrfRoute,
      'GET /api/notifications/channels/': () => SAVED,
      'PUT /api/notifications/channels/': (request) => request.body,
    });
    renderWithApp(<NotificationChannelsForm />);

    const email = await screen.findByRole('checkbox', { name: 'Email' });
    expect(screen.getByRole('checkbox', { name: 'Push' }).checked).toBe(true);
    expect(email.checked).toBe(false);
    expect(screen.getByRole('button', { name: 'Save' }).disabled).toBe(true);

    await userEvent.click(email);
    await userEvent.click(screen.getByRole('checkbox', { name: 'Push' }));
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));

    expect((await screen.findByRole('status')).textContent).toBe('Saved.');
    const put = server.requests.find((request) => request.method === 'PUT');
    expect(put.body).toEqual({ push: false, email: true, in_app: true });
    expect(put.headers['X-CSRFToken']).toBe('test-token');
  });

  it('shows the refusal next to the field it names and keeps what the user chose', async () => {
    fakeServer({
      ...csrfRoute,
      'GET /api/notifications/channels/': () => SAVED,
      'PUT /api/notifications/channels/': () =>
        reply(400, { email: ['Your account has no email address: add one before choosing email.'] }),
    });
    renderWithApp(<NotificationChannelsForm />);

    const email = await screen.findByRole('checkbox', { name: 'Email' });
    await userEvent.click(email);
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));

    expect((await screen.findByRole('alert')).textContent).toBe(
      'email: Your account has no email address: add one before choosing email.',
    );
    expect(email.getAttribute('aria-invalid')).toBe('true');
    expect(email.getAttribute('aria-describedby')).toBe('channel-email-help');
    expect(document.getElementById('channel-email-help').textContent).toBe(
      'Your account has no email address: add one before choosing email.',
    );
    expect(screen.getByRole('checkbox', { name: 'Push' }).getAttribute('aria-invalid')).toBeNull();
    // Nothing lost: the choice stays ticked, to fix and save again.
    expect(email.checked).toBe(true);
    await waitFor(() => expect(screen.getByRole('button', { name: 'Save' }).disabled).toBe(false));
  });

  it('says why when the channels cannot be loaded', async () => {
    fakeServer({
      ...csrfRoute,
      'GET /api/notifications/channels/': () => reply(403, { detail: 'You do not have permission to perform this action.' }),
    });
    renderWithApp(<NotificationChannelsForm />);

    expect((await screen.findByRole('alert')).textContent).toContain('You do not have permission to perform this action.');
    expect(screen.queryByRole('checkbox')).toBeNull();
  });
});
