// `pay reconcile ... --report recon.xlsx`: read back with exceljs, figures compared with the JSON run.
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPay, runPayJson, tempDir } from '../helpers/cli.js';
import { buildReconcileFixture, DAYS, HOSTILE_ORDER_NO } from '../helpers/report-fixture.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { collectReconData } from '../../src/report/reconcile-data.js';
import { reconcileHtml } from '../../src/report/reconcile-html.js';

describe('reconciliation xlsx report', () => {
  let tmp: ReturnType<typeof tempDir>;
  let json: any;
  let wb: ExcelJS.Workbook;
  let db: string;

  beforeAll(async () => {
    tmp = tempDir('pay-report-xlsx-');
    const fx = await buildReconcileFixture(tmp.dir);
    db = fx.db;
    const file = join(tmp.dir, 'recon.xlsx');
    const r = await runPayJson(['--db', db, 'reconcile', '--channel', 'mock', '--date', DAYS[2], '--bill', fx.billPath, '--report', file]);
    expect(r.code, r.stderr).toBe(1);
    json = r.json;
    wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(file);
  });
  afterAll(() => tmp?.cleanup());

  const rows = (name: string) => {
    const ws = wb.getWorksheet(name)!;
    expect(ws, name).toBeDefined();
    const out: ExcelJS.Row[] = [];
    ws.eachRow((row, n) => {
      if (n > 1) out.push(row);
    });
    return out;
  };
  const header = (name: string) => (wb.getWorksheet(name)!.getRow(1).values as unknown[]).slice(1);

  it('has one sheet per section', () => {
    expect(wb.worksheets.map((w) => w.name)).toEqual(['Run', 'Totals', 'Classes', 'Discrepancies', 'Carried over', 'Resolved', 'Run history']);
    const run = Object.fromEntries(rows('Run').map((r) => [r.getCell(1).value, r.getCell(2).value]));
    expect(run['bill sha256']).toBe(json.bill.sha256);
    expect(run.channel).toBe('mock');
    expect(run['business day']).toBe(DAYS[2]);
    expect(run.run).toBe(json.runId);
  });

  it('holds the totals as numbers with currency formats, equal to the JSON', () => {
    const totals = rows('Totals');
    expect(totals.length).toBe(json.totals.length * 2);
    const cols = header('Totals') as string[];
    for (const t of json.totals) {
      for (const side of ['bill', 'books'] as const) {
        const row = totals.find((r) => r.getCell(1).value === t.currency && r.getCell(2).value === side)!;
        expect(row, `${t.currency} ${side}`).toBeDefined();
        expect(row.getCell(3).value).toBe(t[side].count);
        for (const f of ['gross', 'refunds', 'payouts', 'fees', 'adjustments', 'net']) {
          const cell = row.getCell(cols.indexOf(f) + 1);
          if (t[side][f] === undefined) {
            expect(cell.value, `${side} ${f}`).toBeNull();
            continue;
          }
          expect(typeof cell.value, `${t.currency} ${side} ${f}`).toBe('number');
          expect(String(cell.value), `${t.currency} ${side} ${f}`).toBe(String(Number(t[side][f])));
          expect(cell.numFmt).toBe(`#,##0.00 "${t.currency}"`);
        }
      }
    }
  });

  it('counts and sums the classes', () => {
    const classes = Object.fromEntries(rows('Classes').map((r) => [r.getCell(1).value as string, r]));
    for (const [cls, n] of Object.entries(json.summary as Record<string, number>)) expect(classes[cls].getCell(2).value, cls).toBe(n);
    expect(classes.carriedOver.getCell(2).value).toBe(json.carriedOver.length);
    expect(classes.resolved.getCell(2).value).toBe(json.resolved.length);
    const cny = (header('Classes') as string[]).indexOf('amount CNY') + 1;
    // The amount mismatch is billed at 43.22 CNY.
    expect(classes.amountMismatch.getCell(cny).value).toBe(43.22);
  });

  it('lists every discrepancy with its amounts as numbers', () => {
    const items = rows('Discrepancies');
    expect(items.length).toBe(json.itemsTotal);
    const cols = header('Discrepancies') as string[];
    const col = (name: string) => cols.indexOf(name) + 1;
    for (const item of json.items) {
      const row = items.find((r) => r.getCell(col('order no')).value === item.orderNo && r.getCell(col('class')).value === item.class)!;
      expect(row, `${item.class} ${item.orderNo}`).toBeDefined();
      if (item.channel) {
        expect(row.getCell(col('bill amount')).value).toBe(Number(item.channel.amount));
        expect(row.getCell(col('bill amount')).numFmt).toBe(`#,##0.00 "${item.channel.currency}"`);
        expect(row.getCell(col('bill fee')).value).toBe(Number(item.channel.fee));
      } else expect(row.getCell(col('bill amount')).value).toBeNull();
      if (item.local) expect(row.getCell(col('books amount')).value).toBe(Number(item.local.amount));
    }
    // Untrusted text stays text.
    expect(items.some((r) => r.getCell(col('order no')).value === HOSTILE_ORDER_NO)).toBe(true);
    expect(rows('Carried over').length).toBe(json.carriedOver.length);
    expect(rows('Resolved').length).toBe(json.resolved.length);
    expect(rows('Run history').map((r) => r.getCell(1).value)).toEqual([...DAYS]);
  });

  it('a page with a cap lists the first items, counts and sums them all, and says where the rest are', async () => {
    const store = SqliteStore.open(db);
    try {
      const rs = await store.reconciliation();
      const run = (await rs.getRun(json.runId))!;
      const data = await collectReconData(rs, run, {}, 7, 2);
      expect(data.items.length).toBe(2);
      expect(data.itemsTotal).toBe(json.itemsTotal);
      const amountMismatch = data.classes.find((c) => c.class === 'amountMismatch')!;
      expect(amountMismatch).toEqual({ class: 'amountMismatch', count: 1, amounts: { CNY: 4322 } });
      expect(data.history.map((d) => d.date)).toEqual(['2026-11-16', '2026-11-17', '2026-11-18', '2026-11-19', ...DAYS]);
      expect(data.history.filter((d) => d.run).length).toBe(3);
      const page = reconcileHtml(data, 'test');
      expect(page).toContain(`The first 2 of ${json.itemsTotal} items. Every item: pay reconcile show ${json.runId} --report run.xlsx`);
    } finally {
      await store.close();
    }
  });

  it('pay reconcile show <run> --report writes it too, and .xlsx is refused for a bad path (exit 2)', async () => {
    const again = join(tmp.dir, 'show.xlsx');
    const r = await runPay(['--db', db, 'reconcile', 'show', String(json.runId), '--report', again]);
    expect(r.code, r.stderr).toBe(0);
    const wb2 = new ExcelJS.Workbook();
    await wb2.xlsx.readFile(again);
    expect(wb2.getWorksheet('Discrepancies')!.rowCount).toBe(json.itemsTotal + 1);
    const bad = await runPay(['--db', db, 'reconcile', 'show', String(json.runId), '--report', join(tmp.dir, 'no-such-dir', 'r.xlsx')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/cannot write --report .*r\.xlsx \(ENOENT\)/);
  });
});
