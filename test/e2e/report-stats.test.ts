// `pay stats ... --report health.html` over a book with known figures, rendered in headless
// Chromium: the DOM against `pay stats --json`, the charts against the --by series.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isoUtc } from '../../src/core/time.js';
import { bucketTime, defaultBucket, everyBucket } from '../../src/report/stats-html.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { HAS_CHROMIUM, openBrowser, type ReportView, type TestBrowser } from '../helpers/browser.js';
import { runPay, runPayJson, tempDir } from '../helpers/cli.js';
import { T10, writeStatsBook } from '../helpers/stats-book.js';

let tmp: ReturnType<typeof tempDir>;
let env: Record<string, string>;
const file = (name: string) => join(tmp.dir, name);

beforeAll(async () => {
  tmp = tempDir('pay-report-stats-');
  const db = file('pay.db');
  env = { PAY_DB: db, PAY_CONFIG: file('none.json'), XDG_CONFIG_HOME: file('xdg'), XDG_DATA_HOME: file('xdg-data') };
  await writeStatsBook(db);
  // A second operation of mock the next day: 20 queries of 30 ms at 09:00, 4 of them TIMEOUT.
  const store = SqliteStore.open(db);
  for (let i = 0; i < 20; i++) {
    await store.appendEvent({ type: 'channel.call', channel: 'mock', at: isoUtc(T10 + 23 * 3_600_000 + i * 1000), data: { operation: 'mock.query', durationMs: 30, ...(i < 4 ? { error: { code: 'TIMEOUT', message: 'x' } } : {}) } });
  }
  await store.close();
});
afterAll(() => tmp?.cleanup());

/** The rows of a table as cell texts and sort keys. */
async function tableRows(view: ReportView, id: string) {
  return view.page.locator(`#${id} tbody tr:not([hidden])`).evaluateAll((trs) => trs.map((tr) => Array.from((tr as any).cells as any[]).map((td) => ({ text: (td.textContent ?? '').trim(), v: td.getAttribute('data-v') }))));
}

/** Points drawn for a series (its dots, titled "<series> at <time>: <value>"), once its line is drawn. */
async function points(view: ReportView, chart: string, series: string) {
  const d = await view.page.locator(`#${chart} path.line[data-series="${series}"]`).getAttribute('d');
  if (!d) return 0;
  const titles = await view.page.locator(`#${chart} circle title`).allTextContents();
  return titles.filter((t) => t.startsWith(`${series} at `)).length;
}

describe.skipIf(!HAS_CHROMIUM)('pay stats --report in Chromium', () => {
  let browser: TestBrowser;
  let stats: any;
  let view: ReportView;

  beforeAll(async () => {
    const r = await runPay(['stats', '--alert', 'success_rate<0.95', '--alert', 'p99>150ms', '--report', file('health.html'), '--no-color'], { env });
    // Alerts fire: exit 1, and the page is written all the same.
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain(`Report written to ${file('health.html')}.`);
    const json = await runPayJson(['stats', '--alert', 'success_rate<0.95', '--alert', 'p99>150ms'], { env });
    stats = json.json;
    browser = await openBrowser();
    view = await browser.open(file('health.html'));
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('loads nothing from the network, logs no error, and says which alerts fail', async () => {
    expect(view.requests).toEqual([]);
    expect(view.consoleErrors).toEqual([]);
    expect(view.pageErrors).toEqual([]);
    // 3 rows × 2 alerts; mock.collect and mock.query under 95%, stripe's p99 of 200 ms over 150.
    expect(stats.breaches).toHaveLength(3);
    expect(await view.page.locator('#status').textContent()).toBe('FAIL: 3 of 6 alert checks fire');
    await view.screenshot('stats-light.png');
  });

  it('shows the book, the window and the default grouping', async () => {
    const scope = await view.page.locator('#scope').innerText();
    expect(scope).toContain(file('pay.db'));
    expect(scope).toContain('the first event to now');
    // The calls span two days: charted by hour.
    expect(scope).toContain("by hour (the report's default for a window up to 3 days");
  });

  it('lists every channel and operation with the figures of pay stats --json', async () => {
    const rows = await tableRows(view, 'calls-table');
    expect(rows).toHaveLength(stats.rows.length);
    expect(rows).toHaveLength(3);
    for (const [i, row] of stats.rows.entries()) {
      const cells = rows[i];
      expect(cells[0].text).toBe(row.channel);
      expect(cells[1].text).toBe(row.operation);
      expect([2, 3, 4, 5, 6, 7, 8, 9].map((c) => Number(cells[c].v))).toEqual([row.calls, row.errors, row.failures, row.successRate, row.p50, row.p95, row.p99, row.max]);
      expect(cells[10].text).toBe(row.topErrors.map((e: any) => `${e.code} ${e.count}`).join(', '));
    }
    const calls = stats.rows.reduce((n: number, r: any) => n + r.calls, 0);
    const failures = stats.rows.reduce((n: number, r: any) => n + r.failures, 0);
    expect(await view.page.locator('#calls-total').textContent()).toMatch(new RegExp(`^${calls} calls, ${failures} without an answer`));
    expect(calls).toBe(130);
    const amounts = await tableRows(view, 'amounts-table');
    expect(amounts.map((c) => [c[0].text, c[1].text, c[2].text, Number(c[3].v), Number(c[4].v), Number(c[5].v), c[5].text])).toEqual(
      stats.amounts.map((a: any) => [a.channel, a.kind, a.currency, a.count, a.paidCount, a.paidMinor, `${a.paidAmount} ${a.currency}`]),
    );
  });

  it('filters and sorts the calls table', async () => {
    const { page } = view;
    await page.selectOption('#calls-table select', 'mock');
    expect((await tableRows(view, 'calls-table')).map((c) => c[1].text)).toEqual(['mock.collect', 'mock.query']);
    await page.selectOption('#calls-table select', '');
    await page.fill('#calls-table input[type=search]', 'stripe');
    expect((await tableRows(view, 'calls-table')).map((c) => c[0].text)).toEqual(['stripe']);
    expect(await page.locator('#calls-table .count').textContent()).toBe('1 of 3 rows');
    await page.fill('#calls-table input[type=search]', 'timeout');
    expect(await tableRows(view, 'calls-table')).toHaveLength(2);
    await page.fill('#calls-table input[type=search]', '');
    await page.locator('#calls-table th', { hasText: 'p99 ms' }).locator('button').click();
    const p99 = (await tableRows(view, 'calls-table')).map((c) => Number(c[8].v));
    expect(p99).toEqual([...p99].sort((a, b) => a - b));
    expect(p99[2]).toBe(stats.rows.find((r: any) => r.channel === 'stripe').p99);
  });

  it('draws success rate per channel and p50/p99 per operation by hour', async () => {
    const hourly = (await runPayJson(['stats', '--by', 'hour'], { env })).json;
    const hours = (channel: string) => new Set(hourly.rows.filter((r: any) => r.channel === channel).flatMap((r: any) => r.series.map((p: any) => p.bucket))).size;
    expect(hours('mock')).toBe(3);
    expect(await points(view, 'chart-success', 'mock')).toBe(3);
    expect(await points(view, 'chart-success', 'stripe')).toBe(1);
    // The mock line's dots carry the hourly success rates: 50/60, 40/40, 16/20.
    const tips = await view.page.locator('#chart-success circle title').allTextContents();
    expect(tips.filter((t) => t.startsWith('mock at '))).toEqual(['mock at 2026-12-04 10:00: 83.33', 'mock at 2026-12-04 11:00: 100', 'mock at 2026-12-05 09:00: 80']);
    // The hours between 11:00 and the next day's 09:00 had no calls: the line breaks there.
    const d = await view.page.locator('#chart-success path.line[data-series="mock"]').getAttribute('d');
    expect(d!.match(/M/g)).toHaveLength(2);
    for (const r of hourly.rows) {
      expect(await points(view, 'chart-p50', `${r.channel} ${r.operation}`)).toBe(r.series.length);
      expect(await points(view, 'chart-p99', `${r.channel} ${r.operation}`)).toBe(r.series.length);
    }
    // Drawn: every line has a box on screen.
    const boxes = await view.page.locator('figure.chart path.line').evaluateAll((ps) => ps.map((p) => (p as any).getBBox().width as number));
    expect(boxes).toHaveLength(2 + 3 + 3);
    for (const w of boxes) expect(w).toBeGreaterThan(0);
  });

  it('lists each alert on each row with pass or FAIL, filterable by result', async () => {
    const { page } = view;
    expect(await tableRows(view, 'alerts-table')).toHaveLength(6);
    await page.selectOption('#alerts-table select', 'FAIL');
    const failed = await tableRows(view, 'alerts-table');
    expect(failed.map((c) => [c[0].text, c[1].text, c[2].text, Number(c[3].v)])).toEqual(stats.breaches.map((b: any) => [b.alert, b.channel, b.operation, b.actual]).sort((a: any, b: any) => `${a[1]}${a[2]}`.localeCompare(`${b[1]}${b[2]}`)));
    await page.selectOption('#alerts-table select', 'pass');
    expect(await tableRows(view, 'alerts-table')).toHaveLength(3);
  });

  it('--by day charts by day; dark mode renders without errors', async () => {
    const r = await runPay(['stats', '--by', 'day', '--report', file('daily.html')], { env });
    expect(r.code, r.stderr).toBe(0);
    const dark = await browser.open(file('daily.html'), { colorScheme: 'dark' });
    expect(await dark.page.locator('#scope').innerText()).toContain('by day (--by day)');
    expect(await points(dark, 'chart-success', 'mock')).toBe(2);
    // The axis reads in days, not hours.
    const labels = await dark.page.locator('#chart-success svg > text').allTextContents();
    expect(labels).toEqual(expect.arrayContaining(['2026-12-04', '2026-12-05']));
    expect(labels.filter((t) => /^\d\d:\d\d$/.test(t))).toEqual([]);
    expect(await dark.page.locator('#status').count()).toBe(0);
    expect(await dark.page.locator('#alerts').innerText()).toContain('No alerts were given');
    const bg = await dark.page.evaluate('getComputedStyle(document.body).backgroundColor');
    expect(bg).toBe('rgb(15, 19, 24)');
    expect(dark.consoleErrors).toEqual([]);
    expect(dark.requests).toEqual([]);
    await dark.screenshot('stats-dark.png');
  });

  it('a window over 3 days is charted by day; an empty window says so', async () => {
    const r = await runPay(['stats', '--since', '2026-12-01T00:00:00Z', '--until', '2026-12-06T00:00:00Z', '--report', file('week.html')], { env });
    expect(r.code, r.stderr).toBe(0);
    const week = await browser.open(file('week.html'));
    expect(await week.page.locator('#scope').innerText()).toContain("by day (the report's default for a window over 3 days");
    expect(await points(week, 'chart-p99', 'mock mock.collect')).toBe(1);
    const none = await runPay(['stats', '--since', '2026-11-01T00:00:00Z', '--until', '2026-11-02T00:00:00Z', '--report', file('none.html')], { env });
    expect(none.code, none.stderr).toBe(0);
    const empty = await browser.open(file('none.html'));
    expect(await empty.page.locator('#chart-success').innerText()).toContain('No channel calls to chart.');
    expect(await empty.page.locator('#calls-table').innerText()).toContain('No channel calls');
    expect(empty.consoleErrors).toEqual([]);
  });
});

describe('pay stats --report: bad input', () => {
  it('needs an .html name in a writable place, checked before any work (exit 2)', async () => {
    const pdf = await runPay(['stats', '--report', file('health.pdf')], { env });
    expect(pdf.code).toBe(2);
    expect(pdf.stderr).toMatch(/must end in \.html/);
    expect(pdf.stdout).toBe('');
    const nowhere = await runPay(['stats', '--report', file('no/such/dir/health.html')], { env });
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toMatch(/cannot write --report .*health\.html \(ENOENT\)/);
  });

  it('--json keeps one document on stdout and names the file', async () => {
    const r = await runPayJson(['stats', '--report', file('j.html')], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.reportFile).toBe(file('j.html'));
    expect(readFileSync(file('j.html'), 'utf8')).toMatch(/^<!doctype html>/);
  });

});

describe('stats report time axis', () => {
  it('fills every bucket of the window, so lines break where nothing was called', () => {
    expect(everyBucket(['2026-12-04T10', '2026-12-04T12'])).toEqual(['2026-12-04T10', '2026-12-04T11', '2026-12-04T12']);
    // Widened to --since's hour and to the hour before the exclusive --until.
    expect(everyBucket(['2026-12-04T10'], { since: '2026-12-04T08:30:00.000Z', until: '2026-12-04T13:00:00.000Z' })).toEqual(['2026-12-04T08', '2026-12-04T09', '2026-12-04T10', '2026-12-04T11', '2026-12-04T12']);
    expect(everyBucket(['2026-12-02'], { since: '2026-12-01T00:00:00.000Z', until: '2026-12-03T00:00:01.000Z' })).toEqual(['2026-12-01', '2026-12-02', '2026-12-03']);
    expect(everyBucket([], { since: '2026-12-01T00:00:00.000Z' })).toEqual([]);
  });

  it('charts by hour up to 3 days, by day beyond', () => {
    const t = Date.parse('2026-12-01T00:00:00Z');
    expect(defaultBucket(t, t + 72 * 3_600_000)).toBe('hour');
    expect(defaultBucket(t, t + 72 * 3_600_000 + 1)).toBe('day');
    expect(bucketTime('2026-12-04T14')).toBe(Date.parse('2026-12-04T14:00:00Z'));
    expect(bucketTime('2026-12-04')).toBe(Date.parse('2026-12-04T00:00:00Z'));
  });
});

describe.skipIf(!HAS_CHROMIUM)('pay stats --report with hostile names', () => {
  it('shows channel, operation and error code text as text', async () => {
    const db = file('hostile.db');
    const store = SqliteStore.open(db);
    const evil = '<img src="https://example.com/x.png" onerror="console.error(1)">';
    for (let i = 0; i < 3; i++) {
      await store.appendEvent({ type: 'channel.call', channel: 'mock', at: isoUtc(T10 + i * 1000), data: { operation: `<script>console.error("op")</script>`, durationMs: 10, error: { code: evil, message: 'x' } } });
    }
    await store.close();
    const r = await runPay(['stats', '--report', file('hostile.html')], { env: { ...env, PAY_DB: db } });
    expect(r.code, r.stderr).toBe(0);
    const browser = await openBrowser();
    try {
      const view = await browser.open(file('hostile.html'));
      expect(await view.page.locator('img').count()).toBe(0);
      expect(await view.page.locator('main script').count()).toBe(0);
      const row = (await tableRows(view, 'calls-table'))[0];
      expect(row[1].text).toBe('<script>console.error("op")</script>');
      expect(row[10].text).toBe(`${evil} 3`);
      expect(await view.page.locator('#chart-p99 path.line').getAttribute('data-series')).toBe('mock <script>console.error("op")</script>');
      expect(view.consoleErrors).toEqual([]);
      expect(view.requests).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
