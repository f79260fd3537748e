// What the end-to-end tests share: the one-process demo (`manage.py run_demo` on a fresh SQLite
// file, with its embedded broker), Chromium, pages that keep their console errors, signing in,
// screenshots. Each test (dashboard.e2e.mjs, offline.e2e.mjs) tells its own story on top.

import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const PROJECT = path.resolve(HERE, '..', '..');
export const SCREENSHOTS = path.join(HERE, 'screenshots');
export const ARTIFACTS = path.join(HERE, 'artifacts');
const PYTHON = process.env.MAINTAINX_PYTHON ?? path.join(PROJECT, '.venv', 'bin', 'python');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const STEP_TIMEOUT_MS = 90_000;

const started = Date.now();
export const log = (message) =>
  console.log(`[e2e ${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${message}`);

export function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export function manage(args, env, { timeoutMs = 300_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['manage.py', ...args], { cwd: PROJECT, env });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`manage.py ${args.join(' ')} exited with ${code}:\n${output}`));
    });
  });
}

/** `manage.py shell -c code`: what it printed, trimmed. */
export async function managePython(code, env) {
  return (await manage(['shell', '-v', '0', '-c', code], env)).trim();
}

async function waitForHttp(url, server, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`the demo exited with ${server.exitCode} before answering`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}

/**
 * A working folder and the demo's environment: its embedded defaults whatever the caller's, a
 * fresh SQLite file, the in-memory channel layer and the embedded broker, so that parallel runs
 * share nothing.
 */
export function demoEnvironment(prefix) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  const workdir = mkdtempSync(path.join(tmpdir(), prefix));
  const env = { ...process.env };
  for (const key of ['DATABASE_URL', 'REDIS_URL', 'MQTT_URL', 'DEBUG', 'SECRET_KEY', 'ALLOWED_HOSTS']) delete env[key];
  Object.assign(env, {
    DATABASE_URL: `sqlite:///${path.join(workdir, 'db.sqlite3')}`,
    MODEL_ARTIFACT_DIR: path.join(workdir, 'models'),
    PYTHONUNBUFFERED: '1',
    TF_CPP_MIN_LOG_LEVEL: '2',
  });
  return { workdir, env };
}

/** `manage.py run_demo` on a free port with `args`, its log in e2e/artifacts/<logName>; answers once it is healthy. */
export async function startDemo(env, args, { logName = 'server.log' } = {}) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const serverLog = createWriteStream(path.join(ARTIFACTS, logName));
  const server = spawn(PYTHON, ['manage.py', 'run_demo', '--port', String(port), ...args], { cwd: PROJECT, env });
  server.stdout.pipe(serverLog);
  server.stderr.pipe(serverLog);
  return { base, server, ready: () => waitForHttp(`${base}/healthz`, server) };
}

/** Stops the demo (SIGINT, then SIGKILL after a minute): its exit code or signal. */
export async function stopDemo(server) {
  // Once: a second SIGINT would interrupt the demo's own orderly shutdown.
  if (!server.killed && server.exitCode === null) server.kill('SIGINT');
  return (
    server.exitCode ??
    server.signalCode ??
    (await new Promise((resolve) => {
      const timer = setTimeout(() => server.kill('SIGKILL'), 60_000);
      server.on('exit', (exitCode, signal) => {
        clearTimeout(timer);
        resolve(exitCode ?? signal);
      });
    }))
  );
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/**
 * A page in its own context that keeps its console errors and uncaught exceptions in `problems`
 * for the test's final check; `initScript` runs in every page before the app's code.
 */
export async function openPage(browser, name, viewport, problems, { initScript } = {}) {
  const context = await browser.newContext({ viewport });
  if (initScript) await context.addInitScript(initScript);
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`${name} console: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => problems.push(`${name} page error: ${error.message}`));
  return page;
}

export async function signIn(page, base, username) {
  await page.goto(`${base}/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(`${username}-demo`);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** GET `url` as the page's signed-in user (its session cookie). */
export const apiGet = (page, url) =>
  page.evaluate(async (target) => {
    const response = await fetch(target, { headers: { Accept: 'application/json' } });
    if (!response.ok) throw new Error(`${target}: ${response.status}`);
    return response.json();
  }, url);

export async function screenshot(page, name) {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  log(`screenshot ${name}.png`);
}
