import { NavLink } from 'react-router';
import { useUnreadCount } from '../hooks/useNotifications.js';

// More than this reads as "a lot" on a badge the size of a thumbnail.
const BADGE_MAX = 99;

/** The header's bell: the unread count as a badge, and the way to the notification list. */
export default function NotificationBell() {
  const unread = useUnreadCount();
  const count = unread.data ?? 0;
  return (
    <NavLink
      to="/notifications"
      className="bell"
      aria-label={`Notifications, ${count} unread`}
      data-unread={unread.isSuccess ? count : undefined}
    >
      <svg className="bell__icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
        <path d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z" />
      </svg>
      {count > 0 && (
        <span className="bell__badge" aria-hidden="true">
          {count > BADGE_MAX ? `${BADGE_MAX}+` : count}
        </span>
      )}
    </NavLink>
  );
}
