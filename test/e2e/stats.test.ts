/**
 * `pay stats` over a book whose figures are known: channel calls with chosen durations and
 * errors, orders and refunds with chosen amounts. Checked through the binary (table, --json,
 * --format csv, --channel, --since, alerts with exit 1) and through buildStats with --by hour.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildStats, sparkline } from '../../src/commands/stats.js';
import { SqliteStatsStore } from '../../src/store/sqlite-stats-store.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { writeStatsBook } from '../helpers/stats-book.js';
import { runPay, runPayJson, tempDir } from '../helpers/cli.js';

let tmp: ReturnType<typeof tempDir>;
let env: Record<string, string>;
let db: string;

beforeAll(async () => {
  tmp = tempDir('pay-stats-');
  db = join(tmp.dir, 'pay.db');
  env = { PAY_DB: db, PAY_CONFIG: join(tmp.dir, 'none.json'), XDG_CONFIG_HOME: join(tmp.dir, 'xdg'), XDG_DATA_HOME: join(tmp.dir, 'xdg-data') };
  await writeStatsBook(db);
});
afterAll(() => tmp.cleanup());

const near = (actual: number, expected: number) => expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThan(expected * 0.002 + 0.01);

describe('pay stats on a known book', () => {
  it('reports calls, success rate, top errors, percentiles and amounts (--json)', async () => {
    const r = await runPayJson(['stats'], { env });
    expect(r.code, r.stderr).toBe(0);
    const [mock, stripe] = r.json.rows;
    expect(mock).toMatchObject({ channel: 'mock', operation: 'mock.collect', calls: 100, errors: 15, failures: 10, successRate: 0.9 });
    expect(mock.topErrors).toEqual([
      { code: 'TIMEOUT', count: 7 },
      { code: 'INVALID_REQUEST', count: 5 },
      { code: 'SYSTEM_ERROR', count: 3 },
    ]);
    near(mock.p50, 50);
    near(mock.p95, 95);
    near(mock.p99, 99);
    near(mock.max, 100);
    expect(stripe).toMatchObject({ channel: 'stripe', operation: 'collect', calls: 10, failures: 0, successRate: 1, topErrors: [] });
    near(stripe.p99, 200);
    expect(r.json.amounts).toEqual([
      { channel: 'mock', kind: 'collect', currency: 'CNY', count: 10, paidCount: 6, paidAmount: '6.00', paidMinor: 600, byStatus: { succeeded: 6, failed: 2, pending: 2 } },
      { channel: 'mock', kind: 'refund', currency: 'CNY', count: 1, paidCount: 1, paidAmount: '0.50', paidMinor: 50, byStatus: { succeeded: 1 } },
      { channel: 'stripe', kind: 'collect', currency: 'USD', count: 3, paidCount: 3, paidAmount: '15.00', paidMinor: 1500, byStatus: { succeeded: 3 } },
    ]);
  });

  it('--channel, --since/--until and --top narrow the figures', async () => {
    const only = await runPayJson(['stats', '--channel', 'mock', '--since', '2026-12-04T11:00:00Z', '--top', '1'], { env });
    expect(only.json.rows).toHaveLength(1);
    expect(only.json.rows[0]).toMatchObject({ calls: 40, failures: 0, errors: 0, successRate: 1, topErrors: [] });
    const early = await runPayJson(['stats', '--channel', 'mock', '--until', '2026-12-04T11:00:00Z', '--top', '1'], { env });
    expect(early.json.rows[0]).toMatchObject({ calls: 60, failures: 10, topErrors: [{ code: 'TIMEOUT', count: 7 }] });
    expect(early.json.amounts.map((a: { kind: string; count: number }) => [a.kind, a.count])).toEqual([
      ['collect', 10],
      ['refund', 1],
    ]);
  });

  it('alerts fire with the breaching rows and exit 1; none firing is exit 0', async () => {
    const fired = await runPayJson(['stats', '--alert', 'success_rate<0.95', '--alert', 'p99>150ms'], { env });
    expect(fired.code).toBe(1);
    expect(fired.json.breaches).toEqual([
      { alert: 'success_rate<0.95', channel: 'mock', operation: 'mock.collect', actual: 90, limit: 95, unit: '%' },
      { alert: 'p99>150ms', channel: 'stripe', operation: 'collect', actual: expect.any(Number), limit: 150, unit: 'ms' },
    ]);
    const quiet = await runPay(['stats', '--alert', 'success_rate<0.5', '--alert', 'p99>2s', '--no-color'], { env });
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toMatch(/No alert fires/);
    const text = await runPay(['stats', '--alert', 'errors>5%', '--no-color'], { env });
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/Alerts firing[\s\S]*errors>5%\s+mock\s+mock\.collect\s+10%/);
    const bad = await runPay(['stats', '--alert', 'p99>fast'], { env });
    expect(bad.code).toBe(2);
  });

  it('prints a table with a bar per row, and CSV', async () => {
    const t = await runPay(['stats', '--no-color'], { env });
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/mock\s+mock\.collect\s+100\s+90\.0%/);
    expect(t.stdout).toMatch(/████████████/);
    const csv = await runPay(['stats', '--format', 'csv'], { env });
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('channel,operation,bucket,calls,errors,failures,success_rate,p50_ms,p95_ms,p99_ms,max_ms,top_errors');
    expect(lines[1]).toMatch(/^mock,mock\.collect,,100,15,10,0\.9000,/);
    expect(lines[1]).toMatch(/,TIMEOUT:7 INVALID_REQUEST:5 SYSTEM_ERROR:3$/);
    expect(lines).toHaveLength(3);
    const json = await runPay(['stats', '--format', 'json', '--channel', 'stripe'], { env });
    expect(JSON.parse(json.stdout).rows).toMatchObject([{ channel: 'stripe', calls: 10 }]);
  });
});

describe('buildStats --by hour', () => {
  it('gives a series per row and per amount row', async () => {
    const store = SqliteStore.open(db);
    try {
      const d = await buildStats(new SqliteStatsStore(store), { by: 'hour', channel: 'mock' });
      const series = d.rows[0].series!;
      expect(series.map((p) => [p.bucket, p.calls, p.failures])).toEqual([
        ['2026-12-04T10', 60, 10],
        ['2026-12-04T11', 40, 0],
      ]);
      near(series[1].p50, 80);
      expect(d.amounts[0].series).toEqual([{ bucket: '2026-12-04T10', count: 10, paidCount: 6, paidAmount: '6.00', paidMinor: 600 }]);
      expect(sparkline(series.map((p) => p.calls))).toBe('█▆');
      expect(JSON.parse(JSON.stringify(d))).toEqual(d);
    } finally {
      await store.close();
    }
  });
});
