// End to end in real Chromium: a technician's tablet (800 x 1280) works two tickets with no
// network, against the one-process demo (harness.mjs), and the server ends up with every action at
// the time it was done offline; an action on a ticket that was given to a colleague meanwhile is
// refused and shown with its reason.
//
//   npm run e2e                     (after dashboard.e2e.mjs; needs ../.venv and a built dist/)
//
// The tablet signs in online once (the service worker installs and keeps the app shell; "My
// tickets" keeps each ticket in full), chooses a photo, then goes offline (context.setOffline):
// starts ticket A, ticks a step of its SOP, takes a second photo, comments, resolves it with an
// outcome and notes, and
// starts ticket B; reloads the page offline and still reads the ticket and its SOP. Meanwhile the
// supervisor gives B to tech2, who starts it (both through the API, as themselves). Back online,
// the queue is sent: the time from reconnecting to nothing waiting is printed and kept in
// e2e/artifacts/offline-figures.json; screenshots in e2e/screenshots/offline-*.png.

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
  openPage,
  screenshot,
  signIn,
} from './harness.mjs';

const TABLET = { width: 800, height: 1280 };
const TECHNICIAN = 'tech1';
const COLLEAGUE = 'tech2';

// Two work orders for tech1 with the bearing SOP, opened through the tickets service, and a small
// photo as a tablet's camera would give: printed as JSON for the test.
const PREPARE = `
import json, pathlib
from django.contrib.auth import get_user_model
from PIL import Image
from catalogue.models import ErrorCode
from telemetry.models import Machine
from tickets.services import ticket_create
technician = get_user_model().objects.get(username="${TECHNICIAN}")
code = ErrorCode.objects.get(code="E-BRG-01")
tickets = [
    ticket_create(machine=Machine.objects.get(code=machine), title=title, error_code=code, assignee=technician).pk
    for machine, title in [("M-004", "Bearing noise on the fan"), ("M-009", "Check the drive-end bearing")]
]
photos = [pathlib.Path("PHOTO_PATH").with_name(name) for name in ("before.jpg", "after.jpg")]
for photo, colour in zip(photos, [(180, 120, 40), (90, 140, 200)]):
    Image.new("RGB", (640, 480), colour).save(photo, "JPEG", quality=85)
print(json.dumps({"tickets": tickets, "photos": [str(photo) for photo in photos]}))
`;

/** A client of the API that signs in with a token, as a script or an integration does. */
async function apiAs(base, username) {
  const response = await fetch(`${base}/api/auth/token/`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password: `${username}-demo` }),
  });
  check(response.ok, `${username} gets an API token (${response.status})`);
  const { token } = await response.json();
  return async (method, url, body) => {
    const answer = await fetch(`${base}${url}`, {
      method,
      headers: { Authorization: `Token ${token}`, 'Content-Type': 'application/json', Accept: 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: answer.status, body: await answer.json() };
  };
}

const waitingCount = (page) =>
  page.evaluate(() => {
    const pill = document.querySelector('[data-offline-state="offline"], [data-offline-state="syncing"], [data-offline-state="waiting"]');
    return pill ? pill.textContent : '';
  });

async function main() {
  const { workdir, env } = demoWorkspace('offline-e2e');
  log('preparing a fresh plant: migrate, seed (no models: nothing here needs predictions)');
  await manage(['migrate', '--noinput', '-v0'], env);
  await manage(['seed_demo'], env);

  // No failing machine: the live plant raises no ticket of its own while this test works.
  const demo = await demoStart(
    ['--fail-soon', '', '--predict-interval', '5', '--history-days', '0.5', '--truth-file', path.join(workdir, 'truth.jsonl')],
    env,
    { logName: 'offline-server.log' },
  );
  const { base } = demo;
  const problems = [];
  const figures = {};
  let browser;
  try {
    log(`demo up on ${base}`);
    // After the demo's replay of the past: its simulated crew works only the tickets of that replay.
    const prepared = JSON.parse(
      await djangoShell(PREPARE.replace('PHOTO_PATH', path.join(workdir, 'pump-bearing.jpg')), env),
    );
    const [ticketA, ticketB] = prepared.tickets;
    log(`tickets #${ticketA} and #${ticketB} assigned to ${TECHNICIAN}`);

    browser = await browserLaunch();
    const tablet = await openPage(browser, 'tablet', { viewport: TABLET }, problems);
    const context = tablet.context();

    // --- online once: sign in; the service worker installs and keeps what "My tickets" shows ----
    await signIn(tablet, base, TECHNICIAN);
    await tablet.getByRole('heading', { name: /tickets/i }).first().waitFor();
    await tablet.waitForFunction(() => navigator.serviceWorker?.controller !== null && navigator.serviceWorker?.controller !== undefined);
    // Loaded again under the worker's control: the app shell, the list and each ticket are kept.
    await tablet.goto(`${base}/tickets`);
    await tablet.locator(`a[data-ticket-id="${ticketA}"]`).waitFor();
    await tablet.waitForFunction(
      async (ids) => {
        const cache = await caches.open('maintainx-data-v1');
        const kept = await Promise.all(ids.map((id) => cache.match(`/api/tickets/${id}/`)));
        return kept.every(Boolean);
      },
      [ticketA, ticketB],
    );
    const manifest = await apiGet(tablet, '/manifest.webmanifest');
    check(manifest.display === 'standalone' && manifest.icons.length >= 2, 'the manifest makes it installable');
    await screenshot(tablet, 'offline-01-my-tickets-online');

    await tablet.locator(`a[data-ticket-id="${ticketA}"]`).click();
    await tablet.getByRole('button', { name: 'Start work' }).waitFor();
    // The photo is chosen while there is still a network: it is on the ticket before work starts.
    await tablet.locator('input.photos__input').setInputFiles(prepared.photos[0]);
    await tablet.locator('.photos__grid img').first().waitFor();

    // --- offline: work ticket A --------------------------------------------------------------------
    await context.setOffline(true);
    await tablet.locator('[data-offline-state="offline"]').waitFor();
    log('tablet offline');
    await tablet.getByRole('button', { name: 'Start work' }).click();
    await tablet.getByRole('form', { name: 'Resolve the ticket' }).waitFor();
    await tablet.getByRole('checkbox').first().click();
    await tablet.waitForFunction(() => /^1 \//.test(document.querySelector('[aria-label="Steps done"]')?.textContent ?? ''));
    // A second photo, taken offline: kept on the tablet and uploaded with the time it was taken.
    await tablet.getByLabel('Caption (optional)').fill('New bearing fitted');
    await tablet.locator('input.photos__input').setInputFiles(prepared.photos[1]);
    await tablet.getByLabel('Add a comment').fill('Drive-end bearing rough by hand; replacing it.');
    await tablet.getByRole('button', { name: 'Comment' }).click();
    const form = tablet.getByRole('form', { name: 'Resolve the ticket' });
    await form.getByLabel(/Preventive fix/).check();
    await form.getByLabel(/Notes/).fill('Bearing replaced and greased; vibration back to normal by hand.');
    await form.getByRole('button', { name: 'Resolve ticket' }).click();
    await tablet.getByRole('heading', { name: 'Resolution' }).waitFor();
    await tablet.waitForFunction(() => document.querySelector('[data-offline-state="offline"]')?.textContent.includes('5 actions waiting'));
    await screenshot(tablet, 'offline-02-worked-offline');

    // --- offline: start ticket B, then read A again after a reload ----------------------------------
    await tablet.goto(`${base}/tickets/${ticketB}`);
    await tablet.getByRole('button', { name: 'Start work' }).click();
    await tablet.getByRole('form', { name: 'Resolve the ticket' }).waitFor();
    await tablet.goto(`${base}/tickets/${ticketA}`);
    await tablet.reload();
    await tablet.getByRole('heading', { name: new RegExp(`#${ticketA} `) }).waitFor();
    await tablet.getByText('Apply lockout/tagout', { exact: false }).first().waitFor();
    await tablet.getByRole('heading', { name: 'Resolution' }).waitFor();
    check((await waitingCount(tablet)).includes('6 actions waiting'), 'the six actions still wait after the reload');
    await screenshot(tablet, 'offline-03-reloaded-offline');

    // --- meanwhile, online: the supervisor gives B to tech2, who starts it -------------------------
    const supervisor = await apiAs(base, 'supervisor');
    const colleague = await apiAs(base, COLLEAGUE);
    const reassigned = await supervisor('POST', `/api/tickets/${ticketB}/reassign/`, { assignee: COLLEAGUE });
    check(reassigned.status === 200, `the supervisor reassigns #${ticketB} (${reassigned.status})`);
    const started = await colleague('PATCH', `/api/tickets/${ticketB}/`, { status: 'in_progress' });
    check(started.status === 200, `${COLLEAGUE} starts #${ticketB} (${started.status})`);
    // And tech2 may not touch tech1's ticket: refused, saying whose it is.
    const intruding = await colleague('PUT', `/api/tickets/${ticketA}/checklist/2/`, { done: true });
    check(
      intruding.status === 404 && /is assigned to .*, not to you/.test(intruding.body.detail),
      `${COLLEAGUE}'s tick on #${ticketA} is refused with a reason: ${JSON.stringify(intruding)}`,
    );
    log(`${COLLEAGUE} refused on #${ticketA}: ${intruding.body.detail}`);

    // --- back online: everything is sent ------------------------------------------------------------
    const reconnectedAt = Date.now();
    await context.setOffline(false);
    await tablet.locator('[data-offline-state="refused"]').waitFor();
    await tablet.waitForFunction(
      () => !document.querySelector('[data-offline-state="offline"], [data-offline-state="syncing"], [data-offline-state="waiting"]'),
    );
    figures.reconnect_to_synced_ms = Date.now() - reconnectedAt;
    log(`reconnected → everything sent in ${figures.reconnect_to_synced_ms} ms`);

    const detail = await apiGet(tablet, `/api/tickets/${ticketA}/`);
    check(detail.status === 'resolved' && detail.outcome === 'preventive_fix', `#${ticketA} is resolved on the server`);
    check(detail.checklist.some((tick) => tick.step === 1 && tick.done), 'the step ticked offline is kept');
    const offline = detail.events.filter((event) => event.received_at);
    const kinds = offline.map((event) => `${event.kind}${event.to_status ? `:${event.to_status}` : ''}`);
    check(
      JSON.stringify(kinds) ===
        JSON.stringify([
          'status_changed:in_progress',
          'checklist_ticked',
          'photo_added',
          'commented',
          'status_changed:resolved',
        ]),
      `every action done offline is on the server, in order, with its time: ${kinds}`,
    );
    for (const event of offline) {
      check(Date.parse(event.at) < reconnectedAt && Date.parse(event.received_at) >= Date.parse(event.at), `${event.kind} kept its offline time`);
    }
    check(detail.photos.length === 2, 'both photos are on the ticket');
    const offlinePhoto = detail.photos.find((photo) => photo.caption === 'New bearing fitted');
    check(
      offlinePhoto && Date.parse(offlinePhoto.added_at) < Date.parse(offlinePhoto.received_at),
      'the photo taken offline keeps the time it was taken',
    );
    figures.offline_events = offline.map((event) => ({ kind: event.kind, at: event.at, received_at: event.received_at }));
    await tablet.reload();
    await tablet.getByText('done offline · received', { exact: false }).first().waitFor();
    await screenshot(tablet, 'offline-04-synced');

    // --- the refused start of B, with its reason, until dismissed ----------------------------------
    await tablet.locator('[data-offline-state="refused"]').click();
    const refusal = tablet.locator('.queued-actions__refused').filter({ hasText: 'not yours any more' });
    await refusal.waitFor();
    figures.refusal = await refusal.locator('.queued-actions__reason').textContent();
    log(`refused: ${figures.refusal}`);
    await screenshot(tablet, 'offline-05-refused');
    await refusal.getByRole('button', { name: 'Dismiss' }).click();
    await tablet.locator('[data-offline-state="refused"]').waitFor({ state: 'detached' });

    // Offline, Chromium logs each request it could not make, and the refused ticket's page its 404:
    // expected. Anything else (an uncaught exception above all) is not.
    const unexpected = problems.filter(
      (problem) => !/ERR_INTERNET_DISCONNECTED|Failed to load resource|WebSocket/.test(problem),
    );
    check(unexpected.length === 0, `no unexpected console errors:\n${unexpected.join('\n')}`);
  } finally {
    await browser?.close();
    const code = await demo.stop();
    writeFileSync(path.join(ARTIFACTS, 'offline-figures.json'), `${JSON.stringify(figures, null, 2)}\n`);
    rmSync(workdir, { recursive: true, force: true });
    log(`demo stopped (exit ${code}); server log in e2e/artifacts/offline-server.log`);
  }
  log(`passed: reconnect → synced ${figures.reconnect_to_synced_ms} ms; screenshots in e2e/screenshots/offline-*.png`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
