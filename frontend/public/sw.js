/* MaintainX's service worker. Django serves it at /sw.js so that its scope is the whole dashboard
   (Vite copies it, unbundled, into dist/). Web Push messages are JSON {title, body, url, tag}; a tap
   on the notification focuses a dashboard tab already open on that page, or opens one.

   It also keeps the dashboard readable on a tablet with no network, after one visit online:
   - the app shell (the page and its /static/ assets) is cached when the worker installs, and
     refreshed from the network whenever there is one;
   - the API's GET answers ("My tickets", each ticket with its SOP and evidence, photos) are fetched
     from the network first and kept; offline, the kept answer is served, marked with the header
     X-MaintainX-Offline-Copy (the API client then does not take its old Date for the server's clock).
   What is done offline is queued by the page itself (src/lib/offline/), not here. */

const SHELL_CACHE = 'maintainx-shell-v1';
const DATA_CACHE = 'maintainx-data-v1';
const KEPT_CACHES = [SHELL_CACHE, DATA_CACHE];
// Every client route is the same single page.
const SHELL_KEY = '/';
const OFFLINE_COPY_HEADER = 'X-MaintainX-Offline-Copy';

/** The page and the /static/ files it loads (the bundle's hashed names are only known from it). */
async function shellCache() {
  const cache = await caches.open(SHELL_CACHE);
  const page = await fetch(SHELL_KEY, { cache: 'no-store', credentials: 'same-origin' });
  if (!page.ok) return;
  const html = await page.clone().text();
  const assets = [...html.matchAll(/(?:src|href)="(\/static\/[^"]+)"/g)].map((match) => match[1]);
  await Promise.all([cache.put(SHELL_KEY, page), cache.addAll([...new Set(assets)])]);
}

self.addEventListener('install', (event) => {
  // A failed precache (the server is down just then) must not block the new worker: the pages
  // visited next fill the cache anyway.
  event.waitUntil(shellCache().catch(() => undefined).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(
        names.filter((name) => name.startsWith('maintainx-') && !KEPT_CACHES.includes(name)).map((name) => caches.delete(name)),
      );
      await self.clients.claim();
    })(),
  );
});

/** A kept answer, marked as such (a Response's headers are read-only: copied into a new one). */
async function offlineCopy(cached) {
  const headers = new Headers(cached.headers);
  headers.set(OFFLINE_COPY_HEADER, '1');
  return new Response(await cached.blob(), { status: cached.status, statusText: cached.statusText, headers });
}

function offlineAnswer(detail) {
  return new Response(JSON.stringify({ detail }), {
    status: 503,
    headers: { 'Content-Type': 'application/json', [OFFLINE_COPY_HEADER]: '1' },
  });
}

async function networkFirst(request, { cacheName, key = request, fallback }) {
  const cache = await caches.open(cacheName);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(key, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(key);
    if (cached) return offlineCopy(cached);
    if (fallback) return fallback();
    throw error;
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(SHELL_CACHE);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  // The assets' names change with their content: a kept one is never stale.
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (request.mode === 'navigate') {
    // The admin is for the office, online: only the dashboard's pages are kept.
    if (url.pathname.startsWith('/admin/') || url.pathname.startsWith('/api/')) return;
    event.respondWith(networkFirst(request, { cacheName: SHELL_CACHE, key: SHELL_KEY }));
  } else if (url.pathname.startsWith('/static/') && !url.pathname.startsWith('/static/admin/')) {
    event.respondWith(cacheFirst(request));
  } else if (url.pathname.startsWith('/api/') && !url.pathname.startsWith('/api/schema')) {
    event.respondWith(
      networkFirst(request, {
        cacheName: DATA_CACHE,
        fallback: () => offlineAnswer('You are offline, and this was not loaded on this tablet while it was online.'),
      }),
    );
  }
});

// The page asks this when its user signs out: what they read stays off the next user's screen.
self.addEventListener('message', (event) => {
  if (event.data?.type === 'forget-offline-data') event.waitUntil(caches.delete(DATA_CACHE));
});

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
