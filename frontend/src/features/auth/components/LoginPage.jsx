import { Navigate, useLocation } from 'react-router';
import { homePath } from '../../../lib/roles.js';
import { Loading } from '../../../components/States.jsx';
import { useCurrentUser, useLogin } from '../hooks/useCurrentUser.js';

export default function LoginPage() {
  const me = useCurrentUser();
  const signIn = useLogin();
  const location = useLocation();

  if (me.isPending) return <Loading label="Checking your session…" />;
  if (me.data) {
    const wanted = location.state?.from;
    return <Navigate to={wanted && wanted !== '/login' ? wanted : homePath(me.data.role)} replace />;
  }

  function submit(event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    signIn.mutate({ username: form.get('username'), password: form.get('password') });
  }

  return (
    <main className="login-page">
      <form className="login card" onSubmit={submit} aria-labelledby="login-title">
        <div className="brand brand--large">
          <span className="brand__mark" aria-hidden="true">
            M
          </span>
          MaintainX
        </div>
        <h1 id="login-title">Sign in</h1>
        <p className="muted">Predictive maintenance for the plant.</p>
        <label className="field">
          <span>Username</span>
          <input name="username" autoComplete="username" required autoFocus />
        </label>
        <label className="field">
          <span>Password</span>
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        {signIn.isError && (
          <p className="form-error" role="alert">
            {signIn.error.message}
          </p>
        )}
        {me.isError && (
          <p className="form-error" role="alert">
            {me.error.message}
          </p>
        )}
        <button type="submit" className="button button--primary" disabled={signIn.isPending}>
          {signIn.isPending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
