/* MaintainX's service worker. Django serves it at /sw.js so that its scope is the whole dashboard
   (Vite copies it, unbundled, into dist/). Web Push messages are JSON {title, body, url, tag}; a tap
   on the notification focuses a dashboard tab already open on that page, or opens one. */

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

function pushMessageRead(event) {
  try {
    return event.data ? event.data.json() : {};
  } catch {
    // A payload that is not JSON is still shown, as its text: a notification is never dropped.
    return { body: event.data.text() };
  }
}

self.addEventListener('push', (event) => {
  const message = pushMessageRead(event);
  event.waitUntil(
    self.registration.showNotification(message.title || 'MaintainX', {
      body: message.body || '',
      tag: message.tag,
      data: { url: message.url || '/' },
    }),
  );
});

async function pageOpen(url) {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const already = windows.find((client) => client.url === url);
  if (already) return already.focus();
  return self.clients.openWindow(url);
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = new URL(event.notification.data?.url || '/', self.location.origin).href;
  event.waitUntil(pageOpen(url));
});
