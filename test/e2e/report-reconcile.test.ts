// `pay reconcile --report recon.html` rendered in headless Chromium: the DOM against the JSON run.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPay, runPayJson, tempDir } from '../helpers/cli.js';
import { HAS_CHROMIUM, openBrowser, type ReportView, type TestBrowser } from '../helpers/browser.js';
import { buildReconcileFixture, DAYS, HOSTILE_ORDER_NO, HOSTILE_TRADE_NO } from '../helpers/report-fixture.js';

const visibleRows = (view: ReportView, table: string) => view.page.locator(`#${table} tbody tr:not([hidden])`).count();

describe.skipIf(!HAS_CHROMIUM)('reconciliation HTML report in Chromium', () => {
  let tmp: ReturnType<typeof tempDir>;
  let browser: TestBrowser;
  let json: any;
  let html: string;
  let view: ReportView;
  let db: string;

  beforeAll(async () => {
    tmp = tempDir('pay-report-recon-');
    const fx = await buildReconcileFixture(tmp.dir);
    html = join(tmp.dir, 'recon.html');
    // Rerun the last day with --report: the same file replaces the run, and its JSON is the reference.
    const r = await runPayJson(['--db', fx.db, 'reconcile', '--channel', 'mock', '--date', DAYS[2], '--bill', fx.billPath, '--report', html]);
    expect(r.code, r.stderr).toBe(1);
    json = r.json;
    browser = await openBrowser();
    view = await browser.open(html);
    db = fx.db;
  });
  afterAll(async () => {
    await browser?.close();
    tmp?.cleanup();
  });

  it('is one self-contained file: no network request, no console error, our one script only', async () => {
    const text = readFileSync(html, 'utf8');
    expect(text).not.toMatch(/\b(src|href)\s*=\s*["']?(https?:|\/\/)/i);
    expect(view.requests).toEqual([]);
    expect(view.consoleErrors).toEqual([]);
    expect(view.pageErrors).toEqual([]);
    expect(await view.page.locator('script').count()).toBe(1);
    await view.screenshot('recon-light.png');
  });

  it('the checks above can fail: a request is counted, and our CSP also turns a stray load into a console error', async () => {
    const plain = join(tmp.dir, 'plain.html');
    writeFileSync(plain, '<!doctype html><title>x</title><img src="http://127.0.0.1:9/x.png">');
    const p = await browser.open(plain);
    expect(p.requests).toEqual(['http://127.0.0.1:9/x.png']);
    const strayed = join(tmp.dir, 'strayed.html');
    writeFileSync(strayed, readFileSync(html, 'utf8').replace('<main>', '<main><img src="http://127.0.0.1:9/y.png">'));
    const q = await browser.open(strayed);
    // Counted as an attempt, and refused by the page's own policy.
    expect(q.requests).toEqual(['http://127.0.0.1:9/y.png']);
    expect(q.consoleErrors.join('\n')).toMatch(/Content Security Policy/);
  });

  it('shows the run header with the bill checksum', async () => {
    expect(await view.page.title()).toBe(`Reconciliation: mock, ${DAYS[2]}`);
    expect(await view.page.locator('#bill-sha256').textContent()).toBe(json.bill.sha256);
    expect(await view.page.locator('#run').textContent()).toContain(json.bill.path);
    expect(await view.page.locator('#status').textContent()).toBe('5 discrepancies to look at');
  });

  it('shows totals per currency equal to the JSON run', async () => {
    expect(json.totals.length).toBe(2);
    for (const t of json.totals) {
      for (const side of ['bill', 'books'] as const) {
        const row = view.page.locator('#totals-table tbody tr').filter({ has: view.page.locator('td:nth-child(1)', { hasText: t.currency }) }).filter({ has: view.page.locator('td:nth-child(2)', { hasText: new RegExp(`^${side}$`) }) });
        expect(await row.count()).toBe(1);
        const cells = await row.locator('td').evaluateAll((tds) => tds.map((td) => ({ text: td.textContent ?? '', minor: td.getAttribute('data-minor') })));
        const fields = ['gross', 'refunds', 'payouts', ...(side === 'bill' ? ['fees', 'adjustments'] : []), 'net'];
        const index: Record<string, number> = { gross: 3, refunds: 4, payouts: 5, fees: 6, adjustments: 7, net: 8 };
        expect(Number(cells[2].text)).toBe(t[side].count);
        for (const f of fields) {
          expect(Number(cells[index[f]].minor), `${t.currency} ${side} ${f}`).toBe(t[side][`${f}Minor`]);
          expect(cells[index[f]].text.replace(/,/g, ''), `${t.currency} ${side} ${f}`).toBe(t[side][f]);
        }
      }
    }
  });

  it('lists every discrepancy, and the filter box and class menu narrow the table', async () => {
    const { page } = view;
    expect(await page.locator('#items-table tbody tr').count()).toBe(json.itemsTotal);
    expect(await visibleRows(view, 'items-table')).toBe(5);
    await page.fill('#items-table input[type=search]', 'rptamount');
    expect(await visibleRows(view, 'items-table')).toBe(1);
    expect(await page.locator('#items-table .count').textContent()).toBe('1 of 5 rows');
    await page.fill('#items-table input[type=search]', 'payment nothing-like-this');
    expect(await visibleRows(view, 'items-table')).toBe(0);
    await page.fill('#items-table input[type=search]', '');
    await page.selectOption('#items-table select', 'duplicate');
    expect(await visibleRows(view, 'items-table')).toBe(json.summary.duplicate);
    await page.selectOption('#items-table select', '');
    expect(await visibleRows(view, 'items-table')).toBe(5);
    // Per class, the table agrees with the run's counts.
    for (const [cls, n] of Object.entries(json.summary as Record<string, number>)) {
      if (cls === 'matched' || n === 0) continue;
      await page.selectOption('#items-table select', cls);
      expect(await visibleRows(view, 'items-table'), cls).toBe(n);
    }
    await page.selectOption('#items-table select', '');
    expect(await page.locator('#carried-table tbody tr').count()).toBe(json.carriedOver.length);
    expect(await page.locator('#resolved-table tbody tr').count()).toBe(json.resolved.length);
  });

  it('sorts by a column, by minor units, both ways', async () => {
    const { page } = view;
    const header = page.locator('#items-table th', { hasText: 'bill amount' });
    const values = () => page.locator('#items-table tbody tr td:nth-child(7)').evaluateAll((tds) => tds.map((td) => Number(td.getAttribute('data-v') ?? '-1')));
    const billed = json.items.filter((i: any) => i.channel).map((i: any) => i.channel.amountMinor);
    await header.locator('button').click();
    expect(await header.getAttribute('aria-sort')).toBe('ascending');
    const up = (await values()).filter((v) => v >= 0);
    expect(up).toEqual([...billed].sort((a, b) => a - b));
    await header.locator('button').click();
    expect(await header.getAttribute('aria-sort')).toBe('descending');
    expect((await values()).filter((v) => v >= 0)).toEqual([...billed].sort((a, b) => b - a));
  });

  it('renders hostile bill fields as text', async () => {
    const { page } = view;
    await page.fill('#items-table input[type=search]', '<script>');
    expect(await visibleRows(view, 'items-table')).toBe(1);
    const row = page.locator('#items-table tbody tr:not([hidden])');
    expect(await row.locator('td:nth-child(3)').textContent()).toBe(HOSTILE_ORDER_NO);
    expect(await row.locator('td:nth-child(5)').textContent()).toBe(HOSTILE_TRADE_NO);
    expect(await page.evaluate(() => (globalThis as any).__pwned)).toBeUndefined();
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.title()).toBe(`Reconciliation: mock, ${DAYS[2]}`);
    await page.fill('#items-table input[type=search]', '');
  });

  it('draws the class and history charts', async () => {
    const { page } = view;
    const bars = async (id: string) =>
      page.locator(`#${id} svg rect.bar`).evaluateAll((rects) => rects.map((r) => (r as any).getBBox() as { width: number; height: number }).filter((b) => b.width > 0 && b.height > 0).length);
    const nonZero = Object.entries(json.summary as Record<string, number>).filter(([c, n]) => c !== 'matched' && n > 0).length;
    expect(await bars('chart-classes')).toBe(nonZero);
    expect(await bars('chart-class-amounts')).toBe(nonZero);
    // Day 1 had one discrepancy, day 2 none, day 3 five in five classes: six stacked segments.
    expect(await bars('chart-history')).toBe(6);
    expect(await page.locator('#history-table tbody tr').count()).toBe(3);
    const titles = await page.locator('#chart-classes rect.bar title').allTextContents();
    expect(titles).toContain('duplicate, items: 1');
  });

  it('follows the dark colour scheme', async () => {
    const dark = await browser.open(html, { colorScheme: 'dark' });
    const bg = (v: ReportView) => v.page.evaluate(() => { const g = globalThis as any; return g.getComputedStyle(g.document.body).backgroundColor as string; });
    const lum = (rgb: string) => {
      const [r, g, b] = rgb.match(/\d+/g)!.map(Number);
      return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
    };
    expect(lum(await bg(view))).toBeGreaterThan(0.9);
    expect(lum(await bg(dark))).toBeLessThan(0.15);
    expect(dark.consoleErrors).toEqual([]);
    await dark.screenshot('recon-dark.png');
  });

  it('pay reconcile show <run> --report writes the same figures', async () => {
    const again = join(tmp.dir, 'show.html');
    const r = await runPay(['--db', db, 'reconcile', 'show', String(json.runId), '--report', again]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Report written to ${again}`);
    const shown = await browser.open(again);
    // A fresh load of the first file: the earlier tests sorted and filtered theirs.
    const first = await browser.open(html);
    const table = (v: ReportView, id: string) => v.page.locator(`#${id} tbody`).innerText();
    for (const id of ['totals-table', 'classes-table', 'items-table', 'carried-table', 'resolved-table', 'history-table']) {
      expect(await table(shown, id), id).toBe(await table(first, id));
    }
    expect(shown.requests).toEqual([]);
  });
});

describe('pay reconcile --report: bad input', () => {
  it('refuses an unknown extension before reading the bill (exit 2)', async () => {
    const tmp = tempDir('pay-report-bad-');
    try {
      const r = await runPay(['--db', join(tmp.dir, 'pay.db'), 'reconcile', '--channel', 'mock', '--date', '2026-11-22', '--bill', join(tmp.dir, 'nope.csv'), '--report', join(tmp.dir, 'recon.pdf')]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--report .*recon\.pdf: the file name must end in \.html or \.xlsx/);
      // A run that fails on its input writes no report (not even an empty file).
      const failed = await runPay(['--db', join(tmp.dir, 'pay.db'), 'reconcile', '--channel', 'mock', '--date', '2026-11-22', '--bill', join(tmp.dir, 'nope.csv'), '--report', join(tmp.dir, 'recon.html')]);
      expect(failed.code).toBe(2);
      expect(existsSync(join(tmp.dir, 'recon.html'))).toBe(false);
      const h = await runPay(['--db', join(tmp.dir, 'pay.db'), 'reconcile', 'show', '1', '--report', join(tmp.dir, 'r.html'), '--history-days', '0']);
      expect(h.code).toBe(2);
      expect(h.stderr).toMatch(/--history-days "0"/);
    } finally {
      tmp.cleanup();
    }
  });
});
