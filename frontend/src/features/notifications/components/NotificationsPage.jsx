import { Link } from 'react-router';
import { EmptyState, QueryState } from '../../../components/States.jsx';
import { dateTime } from '../../../lib/format.js';
import { NOTIFICATION_KINDS, notificationTarget } from '../api/notifications.js';
import {
  useMarkAllNotificationsRead,
  useMarkNotificationRead,
  useNotifications,
  useUnreadCount,
} from '../hooks/useNotifications.js';

function NotificationItem({ notification, markRead }) {
  const unread = !notification.read_at;
  const target = notificationTarget(notification);
  const open = () => unread && markRead.mutate(notification.id);
  const content = (
    <>
      {unread && <span className="visually-hidden">Unread: </span>}
      <span className="notification__head">
        <span className="notification__kind">{NOTIFICATION_KINDS[notification.kind] ?? notification.kind}</span>
        <time className="muted small" dateTime={notification.created_at}>
          {dateTime(notification.created_at)}
        </time>
      </span>
      <strong className="notification__title">{notification.title}</strong>
      {notification.body && <span className="notification__body pre-line">{notification.body}</span>}
    </>
  );
  return (
    <li className={`notification${unread ? ' notification--unread' : ''}`} data-notification-id={notification.id}>
      {target ? (
        <Link className="notification__open" to={target} onClick={open}>
          {content}
        </Link>
      ) : (
        <button type="button" className="notification__open" onClick={open} disabled={!unread}>
          {content}
        </button>
      )}
    </li>
  );
}

/** The user's notifications, newest first; opening one marks it read and goes to its ticket. */
export default function NotificationsPage() {
  const notifications = useNotifications();
  const unread = useUnreadCount();
  const markRead = useMarkNotificationRead();
  const markAll = useMarkAllNotificationsRead();
  const failed = markRead.error ?? markAll.error;
  return (
    <section className="page">
      <header className="page__header">
        <div>
          <h1>Notifications</h1>
          <p className="muted">Tickets given to you, escalated or commented on. Open one to go to its ticket.</p>
        </div>
        <button
          type="button"
          className="button"
          disabled={markAll.isPending || !unread.data}
          onClick={() => markAll.mutate()}
        >
          {markAll.isPending ? 'Marking…' : 'Mark all read'}
        </button>
      </header>
      {failed && (
        <p className="form-error" role="alert">
          {failed.message}
        </p>
      )}
      <section className="card">
        <QueryState query={notifications} loading="Loading notifications…" errorTitle="Could not load notifications">
          {(data) => {
            const items = data.pages.flatMap((page) => page.results);
            if (items.length === 0) {
              return <EmptyState title="No notifications yet">You are told here when a ticket needs you.</EmptyState>;
            }
            return (
              <>
                <ul className="notifications" aria-label="Notifications">
                  {items.map((notification) => (
                    <NotificationItem key={notification.id} notification={notification} markRead={markRead} />
                  ))}
                </ul>
                {notifications.hasNextPage && (
                  <button
                    type="button"
                    className="button notifications__older"
                    disabled={notifications.isFetchingNextPage}
                    onClick={() => notifications.fetchNextPage()}
                  >
                    {notifications.isFetchingNextPage ? 'Loading…' : 'Show older'}
                  </button>
                )}
              </>
            );
          }}
        </QueryState>
      </section>
    </section>
  );
}
