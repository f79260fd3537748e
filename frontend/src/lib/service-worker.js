// Registers the dashboard's service worker (frontend/public/sw.js, served by Django at /sw.js).
// Resolves to the registration, or null where the browser has no service workers (jsdom, plain HTTP
// on another host than localhost).
export async function registerServiceWorker(container = globalThis.navigator?.serviceWorker) {
  if (!container) return null;
  try {
    return await container.register('/sw.js', { scope: '/' });
  } catch (error) {
    // The dashboard works without it (no push, no offline): say why rather than fail the page.
    console.warn('service worker not registered:', error);
    return null;
  }
}

/**
 * Asks the service worker to drop the API answers it kept for offline reading (frontend/public/sw.js),
 * when the user signs out: the next person on this tablet does not see them.
 */
export function forgetOfflineData(container = globalThis.navigator?.serviceWorker) {
  container?.controller?.postMessage({ type: 'forget-offline-data' });
}
