import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  fetchChannels,
  fetchNotifications,
  fetchUnreadCount,
  markAllNotificationsRead,
  markNotificationRead,
  notificationTarget,
  saveChannels,
} from '../api/notifications.js';
import { DEVICE_PUSH, devicePushDisable, devicePushEnable, devicePushState } from '../api/device-push.js';

export const notificationKeys = {
  all: ['notifications'],
  unreadCount: ['notifications', 'unread-count'],
  list: (params) => ['notifications', 'list', params],
  // Apart from `all`: a new notification changes neither the channels nor this device's subscription.
  channels: ['notification-settings', 'channels'],
  devicePush: ['notification-settings', 'device-push'],
};

// The websocket says when a notification arrives; this only catches one missed while it was down
// in a way the reconnect's catch-up cannot see.
const FALLBACK_REFETCH_MS = 60_000;

export function useUnreadCount() {
  return useQuery({
    queryKey: notificationKeys.unreadCount,
    queryFn: fetchUnreadCount,
    select: (data) => data.unread,
    refetchInterval: FALLBACK_REFETCH_MS,
  });
}

/** The newest page first; fetchNextPage() brings the next older one (limit/offset, as the API pages). */
export function useNotifications(params = {}) {
  return useInfiniteQuery({
    queryKey: notificationKeys.list(params),
    queryFn: ({ pageParam }) => fetchNotifications({ ...params, offset: pageParam }),
    initialPageParam: 0,
    getNextPageParam: (last, pages) =>
      last.next ? pages.reduce((count, page) => count + page.results.length, 0) : undefined,
    refetchInterval: FALLBACK_REFETCH_MS,
  });
}

function useNotificationsMutation(mutationFn) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn,
    // Defined here, not at mutate(): it still runs when the click also leaves the page (a ticket link).
    onSuccess: () => queryClient.invalidateQueries({ queryKey: notificationKeys.all }),
  });
}

/** `mutate(id)` */
export const useMarkNotificationRead = () => useNotificationsMutation(markNotificationRead);

export const useMarkAllNotificationsRead = () => useNotificationsMutation(markAllNotificationsRead);

export function useNotificationChannels() {
  return useQuery({ queryKey: notificationKeys.channels, queryFn: fetchChannels });
}

export function useSaveNotificationChannels() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: saveChannels,
    onSuccess: (channels) => queryClient.setQueryData(notificationKeys.channels, channels),
  });
}

export function useDevicePush() {
  const queryClient = useQueryClient();
  const state = useQuery({ queryKey: notificationKeys.devicePush, queryFn: devicePushState, staleTime: Infinity });
  const onSuccess = (next) => queryClient.setQueryData(notificationKeys.devicePush, next);
  const enable = useMutation({ mutationFn: devicePushEnable, onSuccess });
  const disable = useMutation({ mutationFn: devicePushDisable, onSuccess });
  return { state, enable, disable };
}

/**
 * Whether the service worker will show this notification anyway: this device is subscribed and the
 * user has push on. Then a second, in-page notification would only repeat it.
 */
async function pushWillShowIt(queryClient) {
  try {
    const channels = await queryClient.fetchQuery({ queryKey: notificationKeys.channels, queryFn: fetchChannels });
    return channels.push && (await devicePushState()) === DEVICE_PUSH.ENABLED;
  } catch {
    return false; // unknown: better told twice than not at all
  }
}

/** The browser's own notification, for a tab in the background; a click brings the tab to its page. */
async function browserNotificationShow(queryClient, notification, open) {
  const { Notification } = globalThis;
  if (!Notification || Notification.permission !== 'granted') return null;
  if (await pushWillShowIt(queryClient)) return null;
  // The push's own tag (notifications/services/delivery.py): a newer one of the same ticket replaces it.
  const tag =
    notification.ticket && notification.kind !== 'digest'
      ? `ticket-${notification.ticket}`
      : `notification-${notification.id}`;
  const shown = new Notification(notification.title, { body: notification.body, tag });
  shown.onclick = () => {
    window.focus();
    const target = notificationTarget(notification);
    if (target) open(target);
    shown.close();
  };
  return shown;
}

/**
 * A `notification.created` frame from the plant socket (sent to the user's own group only):
 * the bell and the list refetch, and a hidden tab shows it as a browser notification. Answers the
 * browser notification shown (a promise of it, or of null), or null for another kind of frame.
 */
export function notificationEventApply(queryClient, frame, { open }) {
  if (frame.type !== 'notification.created') return null;
  queryClient.invalidateQueries({ queryKey: notificationKeys.all });
  if (!frame.notification || document.visibilityState !== 'hidden') return Promise.resolve(null);
  return browserNotificationShow(queryClient, frame.notification, open);
}

/** After a reconnect: what arrived while the socket was down. */
export const notificationsCatchUp = (queryClient) => queryClient.invalidateQueries({ queryKey: notificationKeys.all });
