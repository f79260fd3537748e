import { useEffect } from 'react';
import { Link, NavLink, Outlet, useNavigate } from 'react-router';
import ConnectionStatus from '../components/ConnectionStatus.jsx';
import OfflineStatus from '../components/OfflineStatus.jsx';
import AlertBanner from '../features/alerts/components/AlertBanner.jsx';
import { useLogout } from '../features/auth/hooks/useCurrentUser.js';
import NotificationBell from '../features/notifications/components/NotificationBell.jsx';
import { useOfflineQueue } from '../lib/offline/OfflineQueueProvider.jsx';
import { mayReadReports, mayWatchPlant, ROLES } from '../lib/roles.js';
import { PlantEventsProvider, usePlantSocket } from './PlantEvents.jsx';

function Navigation({ user }) {
  const links = [];
  if (mayWatchPlant(user.role)) links.push({ to: '/', label: 'Plant', end: true });
  links.push({ to: '/tickets', label: user.role === ROLES.TECHNICIAN ? 'My tickets' : 'Tickets' });
  if (mayReadReports(user.role)) links.push({ to: '/reports', label: 'Reports' });
  return (
    <nav className="nav" aria-label="Main">
      {links.map((link) => (
        <NavLink key={link.to} to={link.to} end={link.end} className="nav__link">
          {link.label}
        </NavLink>
      ))}
      {user.is_staff && (
        <a className="nav__link" href="/admin/">
          Admin
        </a>
      )}
    </nav>
  );
}

function SocketStatus() {
  const socket = usePlantSocket();
  return <ConnectionStatus status={socket.status} detail={socket.detail} />;
}

/** While the plant socket is down, say so across the page: what it shows may be going stale. */
function ConnectionLost() {
  const socket = usePlantSocket();
  if (socket.status !== 'reconnecting') return null;
  return (
    <div className="connection-lost" role="status">
      <span className="spinner spinner--light" aria-hidden="true" />
      Connection to MaintainX lost: reconnecting… Figures on this page may be out of date until it is back.
    </div>
  );
}

function UserMenu({ user }) {
  const logout = useLogout();
  const navigate = useNavigate();
  return (
    <div className="user-menu">
      <Link className="user-menu__who" to="/profile" title="Your profile and notification settings">
        <strong>{user.full_name || user.username}</strong>
        <span className="muted small">{user.role}</span>
      </Link>
      <button
        type="button"
        className="button button--small"
        disabled={logout.isPending}
        onClick={() => logout.mutate(undefined, { onSettled: () => navigate('/login', { replace: true }) })}
      >
        Sign out
      </button>
    </div>
  );
}

/** The offline queue shows and sends the signed-in user's actions: look again when that changes. */
function useOfflineQueueOwner(username) {
  const { queue } = useOfflineQueue();
  useEffect(() => {
    queue?.load().then(() => navigator.onLine && queue.flush());
  }, [queue, username]);
}

export default function Layout({ user }) {
  useOfflineQueueOwner(user.username);
  return (
    <PlantEventsProvider>
      <div className="shell">
        <header className="topbar">
          <div className="topbar__inner">
            <div className="brand">
              <span className="brand__mark" aria-hidden="true">
                M
              </span>
              MaintainX
            </div>
            <Navigation user={user} />
            <div className="topbar__right">
              <OfflineStatus />
              <SocketStatus />
              <NotificationBell />
              <UserMenu user={user} />
            </div>
          </div>
        </header>
        <ConnectionLost />
        {/* Technicians get their own tickets pushed; the plant's alerts are the managers' view. */}
        {mayWatchPlant(user.role) && <AlertBanner role={user.role} />}
        <main className="content">
          <Outlet />
        </main>
      </div>
    </PlantEventsProvider>
  );
}
