import { api } from '../../../lib/api-client.js';

// The notifications API (notifications/urls.py): the signed-in user's own notifications, their
// delivery channels, and the push subscriptions of their devices.

export const fetchNotifications = (params) => api.get('/api/notifications/', { limit: 50, ...params });

/** `{unread: <int>}` */
export const fetchUnreadCount = () => api.get('/api/notifications/unread-count/');

/** Answers the notification, now with its `read_at`. */
export const markNotificationRead = (id) => api.post(`/api/notifications/${id}/read/`);

/** `{marked: <int>}`: how many were unread. */
export const markAllNotificationsRead = () => api.post('/api/notifications/read-all/');

/** `{push, email, in_app}`: booleans, the user's own choice of where to be told. */
export const fetchChannels = () => api.get('/api/notifications/channels/');

export const saveChannels = (channels) => api.put('/api/notifications/channels/', channels);

/** `{public_key}`: the server's VAPID key, base64url; 503 with the reason when push is not set up. */
export const fetchPushKey = () => api.get('/api/notifications/push/key/');

/** A browser's PushSubscription.toJSON(): `{endpoint, keys: {p256dh, auth}}`. */
export const savePushSubscription = (subscription) => api.post('/api/notifications/push/subscriptions/', subscription);

export const deletePushSubscription = (endpoint) => api.delete('/api/notifications/push/subscriptions/', { endpoint });

export const NOTIFICATION_KINDS = {
  assigned: 'Assigned to you',
  escalated: 'Escalated',
  reassigned: 'Reassigned',
  commented: 'New comment',
  unassigned_ticket: 'Unassigned ticket',
  digest: 'Digest',
};

/** Where a notification leads: its own url, else its ticket's page. */
export function notificationTarget(notification) {
  if (notification.url) return notification.url;
  if (notification.ticket) return `/tickets/${notification.ticket}`;
  return null;
}
