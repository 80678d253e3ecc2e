#!/usr/bin/env node
// Reconciliation reports at size: a mock bill of N rows (default 50,000) that the empty books lack,
// so every row is a `missingLocal` item. Prints the wall time and size of `pay reconcile show
// --report` as HTML (at most 5,000 items listed) and as xlsx (every item), and, when Chromium is
// installed, how long the page takes to load, to sort its item table and to filter it.
//
//   npm run build && node bench/report.mjs [--rows 50000] [--keep]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const value = (name, def) => {
  const i = args.indexOf(name);
  return i === -1 ? def : args[i + 1];
};
const N = Number(value('--rows', '50000'));
const DATE = '2026-11-22';
const dir = mkdtempSync(join(tmpdir(), 'pay-bench-report-'));
const db = join(dir, 'pay.db');
const bill = join(dir, 'bill.csv');
const BIN = join(ROOT, 'bin', 'pay.js');
const CHROMIUM = process.env.PAY_TEST_CHROMIUM ?? '/usr/bin/chromium';

function pay(argv) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, '--db', db, ...argv], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0 && r.status !== 1) throw new Error(`pay ${argv.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return performance.now() - t0;
}
const secs = (ms) => `${(ms / 1000).toFixed(2)} s`;
const mb = (path) => `${(statSync(path).size / 1048576).toFixed(1)} MB`;

try {
  const { writeMockBillRows } = await import(pathToFileURL(join(ROOT, 'dist/channels/mock/bill.js')).href);
  const start = Date.parse(`${DATE}T00:00:00Z`);
  function* rows() {
    for (let i = 0; i < N; i++) {
      const no = `BENCH${String(i).padStart(9, '0')}`;
      yield { line: 0, orderNo: no, channelTradeNo: `T${no}`, kind: 'payment', amountMinor: 100 + (i % 9000), feeMinor: 1, currency: 'CNY', time: new Date(start + (i % 86_000) * 1000).toISOString(), status: 'succeeded' };
    }
  }
  await writeMockBillRows(bill, rows(), { date: DATE });
  const reconcileMs = pay(['reconcile', '--channel', 'mock', '--date', DATE, '--bill', bill, '--json']);
  const html = join(dir, 'recon.html');
  const xlsx = join(dir, 'recon.xlsx');
  const htmlMs = pay(['reconcile', 'show', '1', '--report', html, '--json']);
  const xlsxMs = pay(['reconcile', 'show', '1', '--report', xlsx, '--json']);
  const showMs = pay(['reconcile', 'show', '1', '--json']);
  console.log(`${N.toLocaleString('en')} missingLocal items (reconcile ${secs(reconcileMs)}; show --json alone ${secs(showMs)}, the process cost under the reports)`);
  console.log(`  --report recon.html  ${secs(htmlMs)}  ${mb(html)}  (${Math.min(N, 5000).toLocaleString('en')} items listed)`);
  console.log(`  --report recon.xlsx  ${secs(xlsxMs)}  ${mb(xlsx)}  (every item)`);

  if (existsSync(CHROMIUM)) {
    const { chromium } = await import('playwright-core');
    const profile = mkdtempSync(join(tmpdir(), 'pay-bench-chromium-'));
    const ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'], offline: true });
    try {
      const page = ctx.pages()[0] ?? (await ctx.newPage());
      let t0 = performance.now();
      await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
      const loadMs = performance.now() - t0;
      t0 = performance.now();
      await page.locator('#items-table th', { hasText: 'bill amount' }).locator('button').click();
      await page.waitForFunction(() => document.querySelector('#items-table th[aria-sort]'));
      const sortMs = performance.now() - t0;
      t0 = performance.now();
      await page.fill('#items-table input[type=search]', 'BENCH0000001');
      await page.waitForFunction(() => document.querySelector('#items-table .count')?.textContent?.includes(' of '));
      const filterMs = performance.now() - t0;
      console.log(`  Chromium: load ${secs(loadMs)}, sort ${secs(sortMs)}, filter ${secs(filterMs)}`);
    } finally {
      await ctx.close();
      rmSync(profile, { recursive: true, force: true });
    }
  } else console.log(`  (no Chromium at ${CHROMIUM}: page timings skipped)`);
} finally {
  if (args.includes('--keep')) console.log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
