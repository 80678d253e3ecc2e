// `pay loadtest ... --report load.html` and `pay loadtest report run.json --report`, rendered in
// headless Chromium against a local HTTP server: the DOM against the summary JSON.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPay, tempDir } from '../helpers/cli.js';
import { HAS_CHROMIUM, openBrowser, type ReportView, type TestBrowser } from '../helpers/browser.js';
import { startLatencyServer, type LatencyServer } from '../helpers/latency-server.js';
import { timeline } from '../../src/report/loadtest-html.js';

const LEVELS = [1, 4];

describe.skipIf(!HAS_CHROMIUM)('load-test HTML report in Chromium', () => {
  let tmp: ReturnType<typeof tempDir>;
  let server: LatencyServer;
  let browser: TestBrowser;
  let base: any;
  let run: any;
  let view: ReportView;
  const file = (name: string) => join(tmp.dir, name);

  beforeAll(async () => {
    tmp = tempDir('pay-report-load-');
    server = await startLatencyServer({ latencyMs: 5 });
    const args = ['loadtest', '--url', new URL('ping', server.url).href, '--concurrency', LEVELS.join(','), '--duration', '2s', '--warmup', '0'];
    const first = await runPay([...args, '--out', file('base.json')]);
    expect(first.code, first.stderr).toBe(0);
    // The second run gates on the first: one threshold that holds, one that cannot (p50 under 1 µs).
    const second = await runPay([...args, '--baseline', file('base.json'), '--threshold', 'errors<1%', '--threshold', 'p50<0.001ms', '--threshold', 'p99<+500%', '--out', file('run.json'), '--report', file('load.html')]);
    expect(second.code, second.stderr).toBe(1);
    expect(second.stdout).toContain(`Report written to ${file('load.html')}`);
    base = JSON.parse(readFileSync(file('base.json'), 'utf8'));
    run = JSON.parse(readFileSync(file('run.json'), 'utf8'));
    browser = await openBrowser();
    view = await browser.open(file('load.html'));
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    tmp?.cleanup();
  });

  it('loads nothing from the network and logs no error', async () => {
    expect(view.requests).toEqual([]);
    expect(view.consoleErrors).toEqual([]);
    expect(view.pageErrors).toEqual([]);
    expect(await view.page.locator('#status').textContent()).toBe(`FAIL: ${run.thresholds.filter((t: any) => !t.pass).length} of ${run.thresholds.length} threshold results breached`);
    await view.screenshot('load-light.png');
  });

  it('shows every level with the summary figures', async () => {
    const rows = view.page.locator('#levels-table tbody tr');
    expect(await rows.count()).toBe(LEVELS.length);
    for (const [i, level] of run.levels.entries()) {
      const cells = await rows.nth(i).locator('td').evaluateAll((tds) => tds.map((td) => ({ text: td.textContent ?? '', v: td.getAttribute('data-v') })));
      expect(cells[0].text).toBe(level.label);
      expect(Number(cells[1].v)).toBe(level.requests);
      expect(Number(cells[2].v)).toBe(level.rps);
      expect(Number(cells[3].v)).toBe(level.latencyMs.p50);
      expect(Number(cells[5].v)).toBe(level.latencyMs.p99);
      expect(Number(cells[7].v)).toBe(level.latencyMs.max);
      expect(Number(cells[8].v)).toBe(level.errorRate);
    }
  });

  it('draws requests/s, latency and errors over time, and the scalability chart', async () => {
    const { page } = view;
    const t = timeline(run.levels);
    const points = async (id: string, series: string) => {
      const d = await page.locator(`#${id} path.line[data-series="${series}"]`).getAttribute('d');
      return d ? (d.match(/[ML]/g) ?? []).length : 0;
    };
    expect(t.x.length).toBeGreaterThanOrEqual(LEVELS.length);
    expect(await points('chart-rps', 'requests/s')).toBe(t.x.length);
    expect(await points('chart-latency', 'p99')).toBe(t.p99.filter((v) => v !== null).length);
    expect(await points('chart-errors', 'errors/s')).toBe(t.x.length);
    expect(await points('chart-scalability', 'requests/s')).toBe(LEVELS.length);
    expect(await points('chart-scalability', 'p99 ms')).toBe(LEVELS.length);
    // Drawn, not just present: every line has a box on screen.
    const boxes = await page.locator('figure.chart path.line').evaluateAll((ps) => ps.map((p) => {
      const b = (p as any).getBBox();
      return { width: b.width as number, height: b.height as number };
    }));
    expect(boxes.length).toBe(6);
    for (const b of boxes) expect(b.width).toBeGreaterThan(0);
    // One dashed marker per level on each time chart.
    expect(await page.locator('#chart-rps line.marker').count()).toBe(LEVELS.length);
  });

  it('lists the thresholds with pass and fail, filterable by result', async () => {
    const { page } = view;
    const rows = page.locator('#thresholds-table tbody tr:not([hidden])');
    expect(await rows.count()).toBe(run.thresholds.length);
    await page.selectOption('#thresholds-table select', 'FAIL');
    expect(await rows.count()).toBe(run.thresholds.filter((t: any) => !t.pass).length);
    expect(await rows.locator('td:nth-child(1)').allTextContents()).toEqual(run.thresholds.filter((t: any) => !t.pass).map((t: any) => t.expr));
    await page.selectOption('#thresholds-table select', 'pass');
    expect(await rows.count()).toBe(run.thresholds.filter((t: any) => t.pass).length);
    await page.selectOption('#thresholds-table select', '');
    await page.fill('#thresholds-table input[type=search]', 'P50<');
    expect(await rows.count()).toBe(LEVELS.length);
    await page.fill('#thresholds-table input[type=search]', '');
  });

  it('compares each level with the baseline', async () => {
    const { page } = view;
    await page.selectOption('#baseline-table select', '1 worker');
    const rps = page.locator('#baseline-table tbody tr:not([hidden])').filter({ has: page.locator('td:nth-child(2)', { hasText: /^req\/s$/ }) });
    expect(await rps.count()).toBe(1);
    const [was, now] = await rps.locator('td').evaluateAll((tds) => [tds[2].getAttribute('data-v'), tds[3].getAttribute('data-v')]);
    expect(Number(was)).toBe(base.levels[0].rps);
    expect(Number(now)).toBe(run.levels[0].rps);
    const bars = await page.locator('#chart-baseline-p99 rect.bar').count();
    expect(bars).toBe(LEVELS.length * 2);
  });

  it('sorts the levels table by p99', async () => {
    const { page } = view;
    const header = page.locator('#levels-table th', { hasText: 'p99 ms' });
    await header.locator('button').click();
    const values = await page.locator('#levels-table tbody td:nth-child(6)').evaluateAll((tds) => tds.map((td) => Number(td.getAttribute('data-v'))));
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(await header.getAttribute('aria-sort')).toBe('ascending');
  });

  it('pay loadtest report renders a saved summary the same way, and exits 0', async () => {
    const r = await runPay(['loadtest', 'report', file('run.json'), '--baseline', file('base.json'), '--report', file('again.html')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Report written to');
    const again = await browser.open(file('again.html'), { colorScheme: 'dark' });
    const fresh = await browser.open(file('load.html'));
    for (const id of ['levels-table', 'thresholds-table', 'baseline-table']) {
      expect(await again.page.locator(`#${id} tbody`).innerText(), id).toBe(await fresh.page.locator(`#${id} tbody`).innerText());
    }
    expect(await again.page.locator('#chart-rps path.line').getAttribute('d')).toBe(await fresh.page.locator('#chart-rps path.line').getAttribute('d'));
    expect(again.consoleErrors).toEqual([]);
    await again.screenshot('load-dark.png');
  });
});

describe.skipIf(!HAS_CHROMIUM)('load-test HTML report of an open-model run in Chromium', () => {
  it('shows the arrival accounting and no scalability chart', async () => {
    const tmp = tempDir('pay-report-open-');
    const browser = await openBrowser();
    try {
      const html = join(tmp.dir, 'open.html');
      const r = await runPay(['loadtest', '--channel', 'mock', '--rate', '200/s', '--requests', '200', '--out', join(tmp.dir, 'open.json'), '--report', html]);
      expect(r.code, r.stderr).toBe(0);
      const s = JSON.parse(readFileSync(join(tmp.dir, 'open.json'), 'utf8'));
      const view = await browser.open(html);
      expect(await view.page.locator('#levels-table th').first().textContent()).toBe('rate');
      expect(await view.page.locator('#chart-scalability').count()).toBe(0);
      expect(await view.page.locator('#levels').textContent()).toContain(`${s.levels[0].open.scheduled} scheduled, ${s.levels[0].open.started} started`);
      expect(await view.page.locator('#status').textContent()).toBe('No thresholds: nothing to pass or fail');
      expect(view.consoleErrors).toEqual([]);
      expect(view.requests).toEqual([]);
    } finally {
      await browser.close();
      tmp.cleanup();
    }
  });
});

describe('pay loadtest report: bad input', () => {
  it('needs --report, an .html name and a summary file (exit 2)', async () => {
    const tmp = tempDir('pay-report-load-bad-');
    try {
      const noReport = await runPay(['loadtest', 'report', join(tmp.dir, 'run.json')]);
      expect(noReport.code).toBe(2);
      expect(noReport.stderr).toContain('missing --report');
      const xlsx = await runPay(['loadtest', 'report', join(tmp.dir, 'run.json'), '--report', join(tmp.dir, 'x.xlsx')]);
      expect(xlsx.code).toBe(2);
      expect(xlsx.stderr).toMatch(/must end in \.html/);
      const missing = await runPay(['loadtest', 'report', join(tmp.dir, 'run.json'), '--report', join(tmp.dir, 'x.html')]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/cannot read summary .*run\.json \(ENOENT\)/);
      // Checked before any load is sent.
      const early = await runPay(['loadtest', '--channel', 'mock', '--concurrency', '1', '--requests', '10', '--report', join(tmp.dir, 'load.pdf')]);
      expect(early.code).toBe(2);
      expect(early.stdout).toBe('');
    } finally {
      tmp.cleanup();
    }
  });
});
