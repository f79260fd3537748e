import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { Route, Routes } from 'react-router';
import { csrfRoute, fakeServer, reply } from '../../../test/fakes.js';
import { renderWithApp } from '../../../test/render.jsx';
import LoginPage from './LoginPage.jsx';

const MANAGER = { id: 2, username: 'manager', full_name: 'Martin Novak', email: '', role: 'Manager', is_staff: false };
const TECHNICIAN = { ...MANAGER, id: 5, username: 'tech2', role: 'Technician' };

function renderLogin() {
  return renderWithApp(
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route path="/" element={<p>plant overview</p>} />
      <Route path="/tickets" element={<p>my tickets</p>} />
    </Routes>,
    { route: '/login' },
  );
}

async function signIn(username, password) {
  await userEvent.type(await screen.findByLabelText('Username'), username);
  await userEvent.type(screen.getByLabelText('Password'), password);
  await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
}

describe('LoginPage', () => {
  it('signs in with the CSRF token and lands each role on its own start page', async () => {
    const server = fakeServer({
      ...csrfRoute,
      'GET /api/me/': () => reply(401, { detail: 'Authentication credentials were not provided.' }),
      'POST /api/auth/login/': (request) => (request.body.username === 'tech2' ? TECHNICIAN : MANAGER),
    });
    renderLogin();
    await signIn('tech2', 'tech2-demo');

    expect(await screen.findByText('my tickets')).toBeTruthy();
    const login = server.requests.find((r) => r.path === '/api/auth/login/');
    expect(login.body).toEqual({ username: 'tech2', password: 'tech2-demo' });
    expect(login.headers['X-CSRFToken']).toBe('test-token');
  });

  it('says why a sign-in failed and keeps the form', async () => {
    fakeServer({
      ...csrfRoute,
      'GET /api/me/': () => reply(403, { detail: 'Authentication credentials were not provided.' }),
      'POST /api/auth/login/': () => reply(400, { detail: 'Wrong username or password.' }),
    });
    renderLogin();
    await signIn('manager', 'nope');

    expect((await screen.findByRole('alert')).textContent).toBe('Wrong username or password.');
    expect(screen.getByRole('button', { name: 'Sign in' }).disabled).toBe(false);
  });

  it('sends a signed-in user straight on', async () => {
    fakeServer({ 'GET /api/me/': () => MANAGER });
    renderLogin();
    await waitFor(() => expect(screen.getByText('plant overview')).toBeTruthy());
  });
});
