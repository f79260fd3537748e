import { useEffect, useState } from 'react';
import './App.css';

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

  return state;
}

function SessionStatus({ state }) {
  switch (state.status) {
    case 'loading':
      return <p className="session">Checking your session…</p>;
    case 'signed-in': {
      const { username, role } = state.user;
      return (
        <p className="session">
          Signed in as <strong>{username}</strong> ({role ?? 'no role'})
        </p>
      );
    }
    case 'anonymous':
      return (
        <p className="session">
          Not signed in. <a href="/admin/login/?next=/">Sign in</a>
        </p>
      );
    default:
      return <p className="session session--error">{state.message}</p>;
  }
}

export default function App() {
  const state = useCurrentUser();

  return (
    <main className="app">
      <h1>MaintainX</h1>
      <p className="subtitle">Predictive maintenance for the plant</p>
      <p>The live dashboard arrives in a later release.</p>
      <SessionStatus state={state} />
      <nav className="links">
        <a href="/admin/">Administration</a>
        <a href="/api/docs/">API documentation</a>
      </nav>
    </main>
  );
}
