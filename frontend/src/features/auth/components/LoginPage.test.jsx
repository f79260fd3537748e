import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { Route, Routes } from 'react-router';
import { fakeServer, reply } from '../../../test/fakes.js';
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

// The CSRF endpoint answers anonymous visitors too, with the user who is signed in: null for them.
const session = (user) => ({ 'GET /api/auth/csrf/': () => ({ csrf_token: 'test-token', user }) });

async function signIn(username, password) {
  await userEvent.type(await screen.findByLabelText('Username'), username);
  await userEvent.type(screen.getByLabelText('Password'), password);
  await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
}

describe('LoginPage', () => {
  it('signs in with the CSRF token and lands each role on its own start page', async () => {
    const server = fakeServer({
      ...session(null),
      'POST /api/auth/login/': (request) => (request.body.username === 'tech2' ? TECHNICIAN : MANAGER),
    });
    renderLogin();
    await signIn('tech2', 'tech2-demo');

    expect(await screen.findByText('my tickets')).toBeTruthy();
    const login = server.requests.find((r) => r.path === '/api/auth/login/');
    expect(login.body).toEqual({ username: 'tech2', password: 'tech2-demo' });
    expect(login.headers['X-CSRFToken']).toBe('test-token');
  });

  it('finds out that nobody is signed in without a request that fails', async () => {
    const server = fakeServer(session(null));
    renderLogin();

    expect(await screen.findByRole('button', { name: 'Sign in' })).toBeTruthy();
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /api/auth/csrf/']);
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('says why a sign-in failed and keeps the form', async () => {
    fakeServer({
      ...session(null),
      'POST /api/auth/login/': () => reply(400, { detail: 'Wrong username or password.' }),
    });
    renderLogin();
    await signIn('manager', 'nope');

    expect((await screen.findByRole('alert')).textContent).toBe('Wrong username or password.');
    expect(screen.getByRole('button', { name: 'Sign in' }).disabled).toBe(false);
  });

  it('sends a signed-in user straight on', async () => {
    const server = fakeServer(session(MANAGER));
    renderLogin();
    await waitFor(() => expect(screen.getByText('plant overview')).toBeTruthy());
    expect(server.requests.some((r) => r.path === '/api/me/')).toBe(false);
  });

  it('says so when the server cannot be asked who is signed in', async () => {
    fakeServer({ 'GET /api/auth/csrf/': () => reply(502, undefined) });
    renderLogin();

    expect((await screen.findByRole('alert')).textContent).toBe(
      'The server had a problem (status 502). Please try again in a moment.',
    );
  });
});
