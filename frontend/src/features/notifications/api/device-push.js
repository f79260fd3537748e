// This device's Web Push subscription, through the browser's Push API and the dashboard's service
// worker (public/sw.js shows what arrives). The server keeps the subscription; the browser vendor's
// push service delivers to it.
import { registerServiceWorker } from '../../../lib/service-worker.js';
import { deletePushSubscription, fetchPushKey, savePushSubscription } from './notifications.js';

/** What the "this device" control shows. */
export const DEVICE_PUSH = {
  UNSUPPORTED: 'unsupported', // no service worker, Push API or Notification API here
  BLOCKED: 'blocked', // the browser (or the user in its settings) refused notifications for this site
  DISABLED: 'disabled', // may be turned on
  ENABLED: 'enabled', // subscribed, and the server has the subscription
};

export function devicePushSupported() {
  return Boolean(globalThis.navigator?.serviceWorker && globalThis.PushManager && globalThis.Notification);
}

/** The server's key as the bytes pushManager.subscribe wants (base64url, no padding, in the API). */
export function applicationServerKey(base64url) {
  const base64 = base64url.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(base64url.length / 4) * 4, '=');
  return Uint8Array.from(atob(base64), (character) => character.charCodeAt(0));
}

/** The service worker's registration once active (pushManager needs an active worker), or null. */
async function activeRegistration() {
  const container = globalThis.navigator.serviceWorker;
  const registration = (await container.getRegistration('/')) ?? (await registerServiceWorker(container));
  if (!registration) return null;
  return container.ready;
}

export async function devicePushState() {
  if (!devicePushSupported()) return DEVICE_PUSH.UNSUPPORTED;
  if (globalThis.Notification.permission === 'denied') return DEVICE_PUSH.BLOCKED;
  const registration = await globalThis.navigator.serviceWorker.getRegistration('/');
  const subscription = await registration?.pushManager.getSubscription();
  return subscription && globalThis.Notification.permission === 'granted' ? DEVICE_PUSH.ENABLED : DEVICE_PUSH.DISABLED;
}

/**
 * Ask the browser's permission, subscribe with the server's key and hand the subscription to the
 * server. Answers the new state: enabled, blocked (refused), or disabled (the prompt was dismissed).
 * A server that refuses the subscription leaves nothing subscribed here: the error is thrown.
 */
export async function devicePushEnable() {
  if (!devicePushSupported()) return DEVICE_PUSH.UNSUPPORTED;
  const permission = await globalThis.Notification.requestPermission();
  if (permission === 'denied') return DEVICE_PUSH.BLOCKED;
  if (permission !== 'granted') return DEVICE_PUSH.DISABLED;
  const { public_key: publicKey } = await fetchPushKey();
  const registration = await activeRegistration();
  if (!registration) return DEVICE_PUSH.UNSUPPORTED;
  const subscription = await registration.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey: applicationServerKey(publicKey),
  });
  try {
    await savePushSubscription(subscription.toJSON());
  } catch (error) {
    await subscription.unsubscribe();
    throw error;
  }
  return DEVICE_PUSH.ENABLED;
}

/** The server forgets this device first, so that nothing is pushed to a subscription being dropped. */
export async function devicePushDisable() {
  const registration = await globalThis.navigator.serviceWorker.getRegistration('/');
  const subscription = await registration?.pushManager.getSubscription();
  if (subscription) {
    await deletePushSubscription(subscription.endpoint);
    await subscription.unsubscribe();
  }
  return DEVICE_PUSH.DISABLED;
}
