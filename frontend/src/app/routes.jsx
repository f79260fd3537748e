// Route components: where the features meet (a feature never imports another).
import { Link, Navigate, useLocation, useParams, useRouteError } from 'react-router';
import { Loading, ErrorState } from '../components/States.jsx';
import MarkFalseAlarm from '../features/alerts/components/MarkFalseAlarm.jsx';
import { useOpenAlerts } from '../features/alerts/hooks/useAlerts.js';
import { useCurrentUser } from '../features/auth/hooks/useCurrentUser.js';
import MachinePage from '../features/machines/components/MachinePage.jsx';
import PlantOverview from '../features/machines/components/PlantOverview.jsx';
import DevicePushControl from '../features/notifications/components/DevicePushControl.jsx';
import NotificationChannelsForm from '../features/notifications/components/NotificationChannelsForm.jsx';
import NotificationsPage from '../features/notifications/components/NotificationsPage.jsx';
import ReportsPage from '../features/reports/components/ReportsPage.jsx';
import TicketDetailPage from '../features/tickets/components/TicketDetailPage.jsx';
import TicketList from '../features/tickets/components/TicketList.jsx';
import TicketsPage from '../features/tickets/components/TicketsPage.jsx';
import { mayMarkAlertsFalse, mayReadReports, mayWatchPlant } from '../lib/roles.js';
import Layout from './Layout.jsx';

export function AuthenticatedLayout() {
  const me = useCurrentUser();
  const location = useLocation();
  if (me.isPending) return <Loading label="Checking your session…" />;
  if (me.isError) return <ErrorState error={me.error} onRetry={me.refetch} title="Could not reach MaintainX" />;
  if (!me.data) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  if (!me.data.role) {
    return (
      <main className="login-page">
        <div className="card login">
          <h1>No role yet</h1>
          <p>Your account ({me.data.username}) has no MaintainX role. Ask a supervisor to give you one.</p>
        </div>
      </main>
    );
  }
  return <Layout user={me.data} />;
}

function useUser() {
  return useCurrentUser().data;
}

export function HomeRoute() {
  const user = useUser();
  const alerts = useOpenAlerts();
  if (!mayWatchPlant(user.role)) return <Navigate to="/tickets" replace />;
  return <PlantOverview openAlerts={alerts.data ?? []} />;
}

export function MachineRoute() {
  const { code } = useParams();
  const user = useUser();
  const alerts = useOpenAlerts();
  return (
    <MachinePage
      key={code}
      code={code}
      openAlerts={alerts.data ?? []}
      alertActions={mayMarkAlertsFalse(user.role) ? (alert) => <MarkFalseAlarm alert={alert} /> : null}
      aside={
        <section className="card">
          <h2>Tickets</h2>
          <TicketList params={{ machine: code, limit: 10, ordering: '-opened_at' }} empty="No tickets for this machine." />
        </section>
      }
    />
  );
}

export function TicketsRoute() {
  return <TicketsPage user={useUser()} />;
}

export function TicketRoute() {
  const { id } = useParams();
  return <TicketDetailPage key={id} id={id} />;
}

export function ReportsRoute() {
  const user = useUser();
  if (!mayReadReports(user.role)) {
    return <ErrorState title="Reports are for managers and supervisors" error={{ message: 'Ask a supervisor.' }} />;
  }
  return <ReportsPage />;
}

export function NotificationsRoute() {
  return <NotificationsPage />;
}

/** The signed-in user's own settings: who they are and how MaintainX tells them about their tickets. */
export function ProfileRoute() {
  const user = useUser();
  return (
    <section className="page">
      <header className="page__header">
        <div>
          <h1>Profile</h1>
          <p className="muted">
            {user.full_name || user.username} · {user.role}
          </p>
        </div>
      </header>
      <section className="card">
        <h2>Notifications</h2>
        <NotificationChannelsForm />
      </section>
      <section className="card">
        <h2>This device</h2>
        <DevicePushControl />
      </section>
    </section>
  );
}

export function NotFound() {
  return (
    <section className="page">
      <h1>Not found</h1>
      <p>
        There is no page here. <Link to="/">Go to the start page</Link>.
      </p>
    </section>
  );
}

/** What a page that failed to render shows instead of a blank screen. */
export function RouteError() {
  const error = useRouteError();
  return (
    <main className="content">
      <ErrorState
        title="This page could not be shown"
        error={{ message: error?.message ?? 'An unexpected error happened.' }}
        onRetry={() => window.location.reload()}
      />
      <p>
        <a href="/">Back to the start page</a>
      </p>
    </main>
  );
}
