import { useEffect, useState } from 'react';
import './App.css';

// Django checks a CSRF token on every session-authenticated write (login included), and rotates it
// at login, so fetch a fresh one right before each write.
async function postWithCsrf(url, body) {
  const tokenResponse = await fetch('/api/auth/csrf/', { credentials: 'same-origin' });
  const { csrf_token: csrfToken } = await tokenResponse.json();
  return fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': csrfToken },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

function useCurrentUser() {
  const [state, setState] = useState({ status: 'loading' });

  useEffect(() => {
    // Ignore a response that arrives after unmount (StrictMode mounts twice
    // in development), so a stale request never sets state.
    let active = true;

    async function load() {
      let response;
      try {
        // same-origin sends Django's session cookie without opening the
        // endpoint up to cross-site credentialed requests.
        response = await fetch('/api/me/', {
          credentials: 'same-origin',
          headers: { Accept: 'application/json' },
        });
      } catch {
        // fetch only rejects when no response arrived at all.
        return {
          status: 'error',
          message: 'Could not reach the MaintainX server. Please try again later.',
        };
      }

      if (response.status === 401 || response.status === 403) {
        return { status: 'anonymous' };
      }
      if (!response.ok) {
        return {
          status: 'error',
          message: `The server answered with status ${response.status}.`,
        };
      }
      try {
        return { status: 'signed-in', user: await response.json() };
      } catch {
        return {
          status: 'error',
          message: 'The server sent an unexpected response.',
        };
      }
    }

    load().then((next) => {
      if (active) setState(next);
    });
    return () => {
      active = false;
    };
  }, []);

  return [state, setState];
}

function LoginForm({ onSignedIn }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  async function submit(event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      const response = await postWithCsrf('/api/auth/login/', {
        username: form.get('username'),
        password: form.get('password'),
      });
      const body = await response.json();
      if (response.ok) {
        onSignedIn(body);
      } else {
        // A 400 carries either {"detail": ...} or one message list per field.
        setError(body.detail ?? Object.values(body).flat().join(' '));
      }
    } catch {
      setError('Could not reach the MaintainX server. Please try again later.');
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="login" onSubmit={submit}>
      <label>
        Username <input name="username" autoComplete="username" required />
      </label>
      <label>
        Password <input name="password" type="password" autoComplete="current-password" required />
      </label>
      <button type="submit" disabled={busy}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
      {error && <p className="session session--error">{error}</p>}
    </form>
  );
}

function SessionStatus({ state, setState }) {
  switch (state.status) {
    case 'loading':
      return <p className="session">Checking your session…</p>;
    case 'signed-in': {
      const { username, role } = state.user;
      return (
        <p className="session">
          Signed in as <strong>{username}</strong> ({role ?? 'no role'}){' '}
          <button
            type="button"
            onClick={async () => {
              await postWithCsrf('/api/auth/logout/');
              setState({ status: 'anonymous' });
            }}
          >
            Sign out
          </button>
        </p>
      );
    }
    case 'anonymous':
      return <LoginForm onSignedIn={(user) => setState({ status: 'signed-in', user })} />;
    default:
      return <p className="session session--error">{state.message}</p>;
  }
}

export default function App() {
  const [state, setState] = useCurrentUser();

  return (
    <main className="app">
      <h1>MaintainX</h1>
      <p className="subtitle">Predictive maintenance for the plant</p>
      <p>The live dashboard arrives in a later release.</p>
      <SessionStatus state={state} setState={setState} />
      <nav className="links">
        <a href="/admin/">Administration</a>
        <a href="/api/docs/">API documentation</a>
      </nav>
    </main>
  );
}
