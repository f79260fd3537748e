// Browser benchmark of the dashboard's streaming charts (the "20 charts at 1 Hz"): builds
// bench/charts.html with the app's TimeSeriesChart, opens it in Chromium and, for `--seconds`,
// records each tick's update time (new reading → last chart drawn) and the main thread's busy time.
// Prints them beside their limits: a tick must fit a frame (16.7 ms) to never drop one, and the
// main thread must stay mostly idle so the page keeps answering.
//
//   npm run bench:charts -- --charts 20 --seconds 30        (make bench-charts runs it)

import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { build } from 'vite';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FRAME_MS = 1000 / 60;
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

const { values: options } = parseArgs({
  options: {
    charts: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '30' },
    window: { type: 'string', default: '900' },
    hz: { type: 'string', default: '1' },
  },
});

function percentile(values, fraction) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.round(fraction * (sorted.length - 1)))];
}

async function main() {
  const outDir = mkdtempSync(path.join(tmpdir(), 'maintainx-chart-bench-'));
  await build({
    configFile: path.join(HERE, '..', 'vite.config.js'),
    base: './',
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, rollupOptions: { input: path.join(HERE, 'charts.html') } },
  });
  const server = createServer((request, response) => {
    const file = path.join(outDir, decodeURIComponent(new URL(request.url, 'http://x').pathname));
    if (request.url === '/favicon.ico') {
      response.writeHead(204).end();
      return;
    }
    if (!file.startsWith(outDir) || !existsSync(file)) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    response.end(readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    const errors = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => message.type() === 'error' && errors.push(`${message.text()} ${message.location().url}`));
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const query = `charts=${options.charts}&window=${options.window}&hz=${options.hz}`;
    await page.goto(`http://127.0.0.1:${server.address().port}/bench/charts.html?${query}`);
    await page.locator('canvas').nth(Number(options.charts) - 1).waitFor();
    await page.waitForFunction(() => window.__tickMs.length >= 2); // past the first layout
    const metric = async (name) =>
      (await cdp.send('Performance.getMetrics')).metrics.find((entry) => entry.name === name).value;
    await page.evaluate(() => {
      window.__tickMs.length = 0;
      window.__longTasks = 0;
      new PerformanceObserver((list) => (window.__longTasks += list.getEntries().length)).observe({ type: 'longtask' });
    });
    const busyBefore = await metric('TaskDuration');
    const wallBefore = Date.now();
    await page.waitForTimeout(Number(options.seconds) * 1000);
    const busy = (await metric('TaskDuration')) - busyBefore;
    const wall = (Date.now() - wallBefore) / 1000;
    const { ticks, longTasks } = await page.evaluate(() => ({ ticks: [...window.__tickMs], longTasks: window.__longTasks }));
    if (errors.length) throw new Error(`the page reported errors:\n${errors.join('\n')}`);

    const p50 = percentile(ticks, 0.5);
    const p95 = percentile(ticks, 0.95);
    const share = busy / wall;
    console.log(
      `chart benchmark (browser): ${options.charts} uPlot charts × ${options.window} points with band and limits, ` +
        `${options.hz} Hz, ${ticks.length} ticks over ${wall.toFixed(0)} s, headless Chromium, software rendering`,
    );
    console.log(`  update of all charts per tick   p50 ${p50.toFixed(1)} ms   p95 ${p95.toFixed(1)} ms   ` +
      `(p95 / one frame ${FRAME_MS.toFixed(1)} ms = ${(p95 / FRAME_MS).toFixed(2)})`);
    console.log(`  main thread busy                ${(share * 100).toFixed(1)} % of the time   ` +
      `(${(busy * 1000 / Math.max(ticks.length, 1)).toFixed(1)} ms per tick of a ${(1000 / Number(options.hz)).toFixed(0)} ms budget)`);
    console.log(`  long tasks (> 50 ms)            ${longTasks}`);
  } finally {
    await browser.close();
    server.close();
    rmSync(outDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
