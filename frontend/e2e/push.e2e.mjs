// End to end in real Chromium: a technician's tablet is paged when the system gives them a ticket.
//
//   npm run e2e                     (after the dashboard test; needs ../.venv and a built dist/)
//
// The one-process demo runs a calm plant (no scenario fault). The technician signs in on a tablet,
// enables notifications on the device, and stays on "My tickets". Then a machine of the plant
// fails: a second `simulate_plant` publishes it developing a fault that fails within seconds, to
// the demo's own broker, so the machine reports its error code and the system opens a ticket and
// assigns it. The demo's notification sender (a thread of run_demo, with the VAPID keys this script
// made) sends the Web Push (pywebpush) to a push endpoint this script runs,
// which checks the VAPID signature and decrypts the aes128gcm body with the subscription's keys;
// the decrypted message is then handed to the tablet's real service worker (DevTools protocol),
// which must show it with the ticket's page to open.
//
// The one stand-in: the browser vendor's push service is outside this machine, so
// pushManager.subscribe answers a subscription whose endpoint is the local one, with keys made here
// (web-push-receiver.mjs). Everything else is the real server, the real service worker
// registration and the real page. Figures go to e2e/artifacts/push-figures.json, screenshots
// (tablet size) to e2e/screenshots/notifications-*.png.

import { generateKeyPairSync } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  ARTIFACTS,
  apiGet,
  browserLaunch,
  check,
  demoStart,
  demoWorkspace,
  djangoShell,
  log,
  manage,
  manageSpawn,
  openPage,
  screenshot,
  signIn,
} from './harness.mjs';
import { pushEndpointStart, subscriptionKeysCreate } from './web-push-receiver.mjs';

const TECHNICIAN = 'tech1';
const TABLET = { viewport: { width: 800, height: 1280 }, hasTouch: true, isMobile: true, deviceScaleFactor: 1 };
// The failing machine's fault is forced to fail this soon after its simulator starts.
const FAIL_AFTER_MINUTES = '0.25';
const PUSH_TIMEOUT_MS = 120_000;
// Each delivery to the tablet's service worker is given this long to show its notification.
const SHOWN_WITHIN_MS = 10_000;
const DELIVERIES = 3;
const ACTIVATED_WITHIN_MS = 30_000;

/** A VAPID key pair as the settings take it: the public point and the private scalar, base64url. */
function vapidKeysCreate() {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { x, y } = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(x, 'base64url'), Buffer.from(y, 'base64url')]);
  return { publicKey: point.toString('base64url'), privateKey: privateKey.export({ format: 'jwk' }).d };
}

/**
 * Replaces the Push API's subscribe (and the lookups that follow it) with a subscription to the
 * local endpoint. Kept in localStorage so that a reload still finds it, as a real one would be.
 */
function pushServiceStandIn({ endpoint, p256dh, auth }) {
  const STORED = 'e2e-push-subscription';
  window.__pushSubscribeCalls = [];
  const bytes = (text) =>
    Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (character) => character.charCodeAt(0));
  class LocalPushSubscription {
    endpoint = endpoint;

    expirationTime = null;

    options = { userVisibleOnly: true };

    getKey(name) {
      return bytes({ p256dh, auth }[name]).buffer;
    }

    toJSON() {
      return { endpoint, expirationTime: null, keys: { p256dh, auth } };
    }

    async unsubscribe() {
      localStorage.removeItem(STORED);
      return true;
    }
  }
  PushManager.prototype.subscribe = async function subscribe(options) {
    const key = new Uint8Array(options.applicationServerKey);
    window.__pushSubscribeCalls.push({
      userVisibleOnly: options.userVisibleOnly,
      applicationServerKey: btoa(String.fromCharCode(...key)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''),
    });
    localStorage.setItem(STORED, '1');
    return new LocalPushSubscription();
  };
  PushManager.prototype.getSubscription = async function getSubscription() {
    return localStorage.getItem(STORED) ? new LocalPushSubscription() : null;
  };
}

/** The bell's unread count, from its accessible name. */
async function bellCount(page) {
  const label = await page.locator('a.bell').getAttribute('aria-label');
  const match = /^Notifications, (\d+) unread$/.exec(label ?? '');
  check(match, `the bell says its unread count (${label})`);
  return Number(match[1]);
}

/** The tablet's notification with this tag, polled for `withinMs` in one evaluation that returns
    plain values (a handle to what a polling predicate returned came back empty once, loaded). */
function notificationShown(page, tag, withinMs) {
  return page.evaluate(
    async ({ tag: wanted, withinMs: ms }) => {
      const registration = await navigator.serviceWorker.ready;
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        const [notification] = await registration.getNotifications({ tag: wanted });
        if (notification) return { title: notification.title, body: notification.body, url: notification.data?.url };
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return null;
    },
    { tag, withinMs },
  );
}

/** Hands the payload to the page's service worker as a push service's delivery would end, once its
    version is activated (a push given to a worker still activating is not dispatched), and again,
    logged, if nothing is shown: on a loaded machine one DevTools hand-over showed nothing in 30 s,
    and what is checked is the worker's showing of a push, not DevTools. Returns what was shown (or
    null), how many deliveries it took, and the worker's state as DevTools last saw it. */
async function pushDeliverToWorker(devtools, page, base, payload) {
  const versions = new Map();
  const errors = [];
  let registrationId = null;
  devtools.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
    const ours = registrations.find((registration) => registration.scopeURL === `${base}/` && !registration.isDeleted);
    if (ours) registrationId = ours.registrationId;
  });
  devtools.on('ServiceWorker.workerVersionUpdated', ({ versions: updated }) => {
    for (const version of updated) versions.set(version.versionId, version);
  });
  devtools.on('ServiceWorker.workerErrorReported', ({ errorMessage }) =>
    errors.push(`${errorMessage.errorMessage} (${errorMessage.sourceURL}:${errorMessage.lineNumber})`),
  );
  const activated = () =>
    [...versions.values()].find((version) => version.registrationId === registrationId && version.status === 'activated');
  const workerState = () =>
    JSON.stringify({
      versions: [...versions.values()].map(({ versionId, registrationId: of, status, runningStatus }) => ({
        versionId,
        of,
        status,
        runningStatus,
      })),
      errors,
    });
  await devtools.send('ServiceWorker.enable');
  const deadline = Date.now() + ACTIVATED_WITHIN_MS;
  while (!activated() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  check(activated(), `the tablet's service worker is activated (${workerState()})`);
  let systemNotification = null;
  let delivered = 0;
  while (systemNotification === null && delivered < DELIVERIES) {
    await devtools.send('ServiceWorker.deliverPushMessage', {
      origin: base,
      registrationId,
      data: JSON.stringify(payload),
    });
    delivered += 1;
    systemNotification = await notificationShown(page, payload.tag, SHOWN_WITHIN_MS);
    if (systemNotification === null) log(`no notification ${SHOWN_WITHIN_MS / 1000} s after delivery ${delivered}: ${workerState()}`);
  }
  return { registrationId, delivered, systemNotification, workerState };
}

async function main() {
  const vapid = vapidKeysCreate();
  const { workdir, env } = demoWorkspace('push-e2e', {
    VAPID_PUBLIC_KEY: vapid.publicKey,
    VAPID_PRIVATE_KEY: vapid.privateKey,
    VAPID_SUBJECT: 'mailto:e2e@maintainx.invalid',
    // The plant's past is replayed in seconds and pages the technician several times: this test is
    // about one page, not about the digest a flood becomes.
    NOTIFY_DIGEST_AFTER: '1000',
  });
  const keys = subscriptionKeysCreate();
  const endpoint = await pushEndpointStart(keys);
  log(`push endpoint on ${endpoint.url}`);

  log('preparing a fresh plant: migrate, seed; the technician covers every shift');
  await manage(['migrate', '--noinput', '-v0'], env);
  await manage(['seed_demo'], env);
  // Whatever the hour the test runs at, the technician on the tablet is the one on shift, so the
  // ticket is theirs.
  await djangoShell(
    `from django.contrib.auth import get_user_model; from tickets.models import Shift
technician = get_user_model().objects.get(username='${TECHNICIAN}')
for shift in Shift.objects.all(): shift.technicians.set([technician])`,
    env,
  );

  const problems = [];
  const figures = {};
  let browser;
  let demo;
  let fault;
  try {
    demo = await demoStart(
      ['--fail-soon', '', '--predict-interval', '2', '--history-days', '0.5', '--truth-file', path.join(workdir, 'truth.jsonl')],
      env,
      { logName: 'push-server.log' },
    );
    const { base } = demo;
    const broker = /Embedded MQTT broker on (mqtt:\/\/\S+)/.exec(demo.output())?.[1];
    check(broker, 'the demo says where its embedded broker listens');
    log(`demo up on ${base}, broker ${broker}`);
    browser = await browserLaunch();

    // --- the technician's tablet: sign in, enable notifications on this device ------------------
    const tablet = await openPage(browser, 'tablet', TABLET, problems, {
      prepare: async (context) => {
        await context.grantPermissions(['notifications'], { origin: base });
        await context.addInitScript(pushServiceStandIn, {
          endpoint: endpoint.url,
          p256dh: keys.p256dh,
          auth: keys.authText,
        });
      },
    });
    await signIn(tablet, base, TECHNICIAN);
    await tablet.getByRole('heading', { name: 'My tickets' }).waitFor();
    await tablet.locator('[data-connection="open"]').first().waitFor();
    await tablet.locator('a.user-menu__who').click();
    await tablet.getByRole('heading', { name: 'Profile' }).waitFor();
    const channels = tablet.getByRole('form', { name: 'Notification channels' });
    check(await channels.getByRole('checkbox', { name: 'Push' }).isChecked(), 'push is among the technician\'s channels');
    await tablet.getByRole('button', { name: 'Enable notifications on this device' }).click();
    await tablet.locator('[data-device-push="enabled"]').waitFor();
    const [subscribed] = await tablet.evaluate(() => window.__pushSubscribeCalls);
    const { public_key: serverKey } = await apiGet(tablet, '/api/notifications/push/key/');
    check(subscribed?.userVisibleOnly === true, 'subscribed with userVisibleOnly');
    check(
      subscribed.applicationServerKey === serverKey && serverKey === vapid.publicKey,
      'subscribed with the server\'s VAPID key',
    );
    log('notifications enabled on the tablet');
    await screenshot(tablet, 'notifications-01-enabled');

    await tablet.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'My tickets' }).click();
    await tablet.getByRole('heading', { name: 'My tickets' }).waitFor();
    const unreadBefore = await bellCount(tablet);
    // Every frame in which the bell first shows a higher count: the end of the measurement is the
    // first of them at or after the assignment (the demo plant's own faults may bring other tickets).
    await tablet.evaluate((before) => {
      const bell = () => document.querySelector('a.bell');
      const count = () => Number(/(\d+) unread/.exec(bell()?.getAttribute('aria-label') ?? '')?.[1] ?? before);
      window.__bellRises = [];
      let highest = before;
      const seen = () => {
        const now = count();
        if (now <= highest) return;
        highest = now;
        requestAnimationFrame(() => window.__bellRises.push({ count: now, at: performance.timeOrigin + performance.now() }));
      };
      new MutationObserver(seen).observe(document.body, { attributes: true, childList: true, subtree: true });
    }, unreadBefore);

    // --- a machine fails: the system opens a ticket and gives it to the technician ---------------
    // The first machine by code with no unresolved ticket: its failure opens a new one (one sick
    // machine, one ticket). The simulator runs the first N machines by code, up to that one.
    const [count, machine] = (
      await djangoShell(
        `from telemetry.models import Machine; from tickets.models import Ticket
busy = set(Ticket.objects.exclude(status='resolved').values_list('machine__code', flat=True))
codes = list(Machine.objects.order_by('code').values_list('code', flat=True))
print(next(f'{index + 1} {code}' for index, code in enumerate(codes) if code not in busy))`,
        env,
      )
    ).split(' ');
    log(`${machine} fails in ${Number(FAIL_AFTER_MINUTES) * 60} s (simulate_plant on the demo's broker)`);
    const faultStartedAt = Date.now();
    fault = manageSpawn(
      [
        'simulate_plant',
        '--mqtt-url',
        broker,
        '--client-id',
        'maintainx-e2e-fault',
        // The demo's embedded broker speaks MQTT 3.1.1.
        '--protocol',
        '3.1.1',
        '--machines',
        count,
        '--seed',
        '17',
        '--fail-soon',
        machine,
        '--fail-soon-minutes',
        FAIL_AFTER_MINUTES,
        '--truth-file',
        path.join(workdir, 'fault-truth.jsonl'),
      ],
      env,
      'push-fault.log',
    );

    const faultExited = new Promise((resolve, reject) =>
      fault.process.once('exit', (code) =>
        reject(new Error(`simulate_plant exited (${code}) before the push came:\n${fault.output()}`)),
      ),
    );
    // The demo plant's other machines live on and may develop faults of their own: a push for one
    // of their tickets is logged and passed over; the failed machine's is the one this test follows.
    const aboutMachine = (payload) => [payload.title, payload.body].some((text) => text?.includes(machine));
    const others = new Set();
    const message = await Promise.race([
      endpoint.next((entry) => {
        if (entry.error || aboutMachine(entry.payload)) return true;
        if (!others.has(entry)) {
          others.add(entry);
          log(`passed over a push about another machine: ${JSON.stringify(entry.payload)}`);
        }
        return false;
      }, PUSH_TIMEOUT_MS),
      faultExited,
    ]);
    if (message.error) throw message.error;
    const { payload } = message;
    log(`push received and decrypted: ${JSON.stringify(payload)}`);
    check(Number.isInteger(payload.ticket), 'the push names its ticket');
    check(payload.url === `/tickets/${payload.ticket}`, 'the push opens the ticket\'s page');
    check(payload.title && payload.tag, 'the push has a title and a tag');
    check(
      message.vapid.key === vapid.publicKey && message.vapid.claims.aud === new URL(endpoint.url).origin,
      'the push is signed with the server\'s VAPID key for this push service',
    );
    check(message.headers.ttl !== undefined, 'the push says how long the push service may keep it (TTL)');
    const ticket = await apiGet(tablet, `/api/tickets/${payload.ticket}/`);
    check(ticket.machine === machine, `the pushed ticket is the failed machine's (${ticket.machine})`);
    check(ticket.assignee?.username === TECHNICIAN, 'the ticket is the technician\'s');
    check(Date.parse(ticket.assigned_at) >= faultStartedAt - 1000, 'the ticket was assigned after the fault began');
    check(
      payload.title.includes(`#${ticket.id}`) || payload.body?.includes(machine) || payload.title.includes(machine),
      'the push says which ticket or machine',
    );
    const assignedAt = Date.parse(ticket.assigned_at);
    figures.assignment_to_push_ms = message.at - assignedAt;

    // --- the tablet: the bell, the list, the ticket -----------------------------------------------
    const firstRiseSince = (since) => window.__bellRises.find((rise) => rise.at >= since)?.at;
    await tablet.waitForFunction(firstRiseSince, assignedAt);
    figures.assignment_to_bell_ms = Math.round((await tablet.evaluate(firstRiseSince, assignedAt)) - assignedAt);
    const unreadAfter = await bellCount(tablet);
    check(unreadAfter > unreadBefore, `the bell counts the new notification (${unreadBefore} → ${unreadAfter})`);
    log(
      `ticket #${ticket.id} (${machine}) assigned to ${TECHNICIAN}: push received ${figures.assignment_to_push_ms} ms ` +
        `after the assignment, bell updated after ${figures.assignment_to_bell_ms} ms`,
    );
    await screenshot(tablet, 'notifications-02-bell');

    // --- the tablet's service worker shows what came, as the browser would hand it over ----------
    // The decrypted payload goes to the real /sw.js through the DevTools protocol (what a push
    // service's delivery ends in); its notification must name the ticket and open its page.
    const devtools = await tablet.context().newCDPSession(tablet);
    const { registrationId, delivered, systemNotification, workerState } = await pushDeliverToWorker(
      devtools,
      tablet,
      base,
      payload,
    );
    check(
      systemNotification !== null,
      `the service worker shows a notification for the push (${delivered} deliveries of ` +
        `${SHOWN_WITHIN_MS / 1000} s each to registration ${registrationId}; the worker: ${workerState()})`,
    );
    check(
      systemNotification.title === payload.title && systemNotification.url === payload.url,
      `the service worker shows the push with its ticket's page (${JSON.stringify(systemNotification)})`,
    );
    await devtools.detach();
    log(
      `the service worker shows "${systemNotification.title}", opening ${systemNotification.url} ` +
        `(delivered ${delivered} time${delivered === 1 ? '' : 's'})`,
    );

    await tablet.locator('a.bell').click();
    await tablet.getByRole('heading', { name: 'Notifications' }).waitFor();
    const item = tablet.locator('.notification--unread').filter({ has: tablet.locator(`a[href="/tickets/${ticket.id}"]`) });
    await item.first().waitFor();
    await screenshot(tablet, 'notifications-03-list');
    const unreadBeforeOpening = await bellCount(tablet);
    await item.first().locator('a').click();
    await tablet.getByRole('heading', { name: 'Procedure' }).waitFor();
    await tablet.waitForFunction(
      (count) => document.querySelector('a.bell')?.getAttribute('aria-label') === `Notifications, ${count} unread`,
      unreadBeforeOpening - 1,
    );
    log(`opened from the list: the ticket's page, the bell back to ${unreadBeforeOpening - 1}`);
    await screenshot(tablet, 'notifications-04-ticket');

    // --- turned off on the device: the server forgets the subscription ----------------------------
    await tablet.locator('a.user-menu__who').click();
    await tablet.getByRole('button', { name: 'Turn off on this device' }).click();
    await tablet.locator('[data-device-push="disabled"]').waitFor();
    const left = await djangoShell(
      `from notifications.models import PushSubscription; print(PushSubscription.objects.filter(endpoint='${endpoint.url}').count())`,
      env,
    );
    check(left === '0', `the server forgot the device's subscription (${left} left)`);
    log('turned off on the device: the server has no subscription for it any more');
    await screenshot(tablet, 'notifications-05-turned-off');

    check(problems.length === 0, `no console errors:\n${problems.join('\n')}`);
  } finally {
    await browser?.close();
    const faultCode = await fault?.stop();
    const code = await demo?.stop();
    await endpoint.close();
    writeFileSync(path.join(ARTIFACTS, 'push-figures.json'), `${JSON.stringify(figures, null, 2)}\n`);
    rmSync(workdir, { recursive: true, force: true });
    log(`demo stopped (exit ${code}), fault simulator (exit ${faultCode}); logs in e2e/artifacts/push-*.log`);
  }
  log(
    `passed: assignment → push ${figures.assignment_to_push_ms} ms, assignment → bell ${figures.assignment_to_bell_ms} ms; ` +
      'screenshots in e2e/screenshots/notifications-*.png',
  );
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
