// What the end-to-end tests share: the one-process demo on a fresh SQLite file (as `make demo` runs
// it), Debian's Chromium through playwright-core, and the small steps every test takes (sign in,
// read the API as the signed-in user, screenshots, checks).

import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
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

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * A working directory and the demo's embedded defaults whatever the caller's environment: a fresh
 * SQLite file, the in-memory channel layer and the embedded broker, so that parallel runs share
 * nothing. `extra` adds settings of the test's own.
 */
export function demoWorkspace(name, extra = {}) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  const workdir = mkdtempSync(path.join(tmpdir(), `maintainx-${name}-`));
  const env = { ...process.env };
  for (const key of ['DATABASE_URL', 'REDIS_URL', 'MQTT_URL', 'DEBUG', 'SECRET_KEY', 'ALLOWED_HOSTS']) delete env[key];
  Object.assign(env, {
    DATABASE_URL: `sqlite:///${path.join(workdir, 'db.sqlite3')}`,
    MODEL_ARTIFACT_DIR: path.join(workdir, 'models'),
    PYTHONUNBUFFERED: '1',
    TF_CPP_MIN_LOG_LEVEL: '2',
    ...extra,
  });
  return { workdir, env };
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

/** Runs Python in the project's Django (manage.py shell -c) and answers what it printed, trimmed. */
export async function djangoShell(code, env) {
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
 * A long-running `manage.py <args>`, its output in e2e/artifacts/<logName>. Answers {process,
 * output, interrupt, stop}: output() is what it printed so far; stop() interrupts it (as Ctrl-C
 * does) and answers its exit code or signal.
 */
export function manageSpawn(args, env, logName) {
  const child = spawn(PYTHON, ['manage.py', ...args], { cwd: PROJECT, env });
  const logFile = createWriteStream(path.join(ARTIFACTS, logName));
  child.stdout.pipe(logFile);
  child.stderr.pipe(logFile);
  let printed = '';
  child.stdout.on('data', (chunk) => (printed += chunk));
  let interrupted = false;
  const interrupt = () => {
    if (!interrupted && child.exitCode === null) child.kill('SIGINT');
    interrupted = true;
  };
  const stop = async () => {
    interrupt();
    return (
      child.exitCode ??
      child.signalCode ??
      (await new Promise((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        child.on('exit', (exitCode, signal) => {
          clearTimeout(timer);
          resolve(exitCode ?? signal);
        });
      }))
    );
  };
  return { process: child, output: () => printed, interrupt, stop };
}

/** `manage.py run_demo` on a free port with `args`, once it answers: manageSpawn's answer and its `base` URL. */
export async function demoStart(args, env, { logName = 'server.log' } = {}) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const demo = manageSpawn(['run_demo', '--port', String(port), ...args], env, logName);
  try {
    await waitForHttp(`${base}/healthz`, demo.process);
  } catch (error) {
    await demo.stop();
    throw error;
  }
  return { ...demo, base };
}

export function browserLaunch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/**
 * A page in a context of its own that keeps its console errors and uncaught exceptions for the
 * final check. `contextOptions` go to newContext (viewport, touch); `prepare(context)` runs before
 * the page opens (init scripts, permissions).
 */
export async function openPage(browser, name, contextOptions, problems, { prepare } = {}) {
  const context = await browser.newContext(contextOptions);
  await prepare?.(context);
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  // Chromium logs every 4xx and 5xx as a console error: none is expected, the login page's session
  // check included (the CSRF endpoint answers an anonymous visitor with user null, not a 401).
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

/** GET as the page's signed-in user. */
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
