/**
 * PostgreSQL under concurrency and faults, with separate processes (test/helpers/store-worker.mjs
 * on the built store, started together): 8 processes refunding a quarter of one order (exactly 4
 * succeed, the refunded total is the amount), 4 processes creating 500 orders each (none lost,
 * none doubled), 4 processes recording one callback (recorded once). Faults on a cluster of the
 * test's own (scripts/pg-cluster): a server that is not there is exit 3 naming host:port; the
 * server stopped in the middle of a reconciliation is exit 3 with nothing of the run saved, and
 * the same command afterwards works. Skipped without PAY_TEST_PG_URL.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BillRow } from '../../src/channel/contract.js';
import { openStore, resolveDbTarget } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import { freshPgSchema, PG_URL, pgSql, type FreshDb } from '../helpers/backends.js';
import { ROOT, runPay, runPayJson, tempDir } from '../helpers/cli.js';

const WORKER = join(ROOT, 'test/helpers/store-worker.mjs');
const CLUSTER = join(ROOT, 'scripts/pg-cluster');

/** Starts one worker per argument list, waits until all are ready, starts them at once, collects their answers. */
async function together(db: string, jobs: string[][]): Promise<Record<string, unknown>[]> {
  const workers = jobs.map((args) => {
    const child = spawn(process.execPath, [WORKER, db, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<void>((resolve, reject) =>
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`worker ${args.join(' ')} exit ${code}: ${err}`)))),
    );
    return { child, exited, out: () => out };
  });
  const deadline = Date.now() + 60_000;
  while (!workers.every((w) => w.out().startsWith('ready\n'))) {
    if (Date.now() > deadline) throw new Error('workers did not get ready');
    await sleep(20);
  }
  for (const w of workers) w.child.stdin.end('go\n');
  await Promise.all(workers.map((w) => w.exited));
  return workers.map((w) => JSON.parse(w.out().split('\n')[1]) as Record<string, unknown>);
}

describe.skipIf(!PG_URL)('PostgreSQL under concurrent processes', () => {
  let book: FreshDb;
  let store: Store;
  beforeAll(async () => {
    book = await freshPgSchema();
    store = await openStore(resolveDbTarget(book.db));
  });
  afterAll(async () => {
    await store?.close();
    await book?.cleanup();
  });

  it('8 processes refunding a quarter of one order: exactly 4 succeed and the refunds total the amount', async () => {
    await store.createOrder({ orderNo: 'PCONC0000001', kind: 'collect', channel: 'mock', amountMinor: 1000, currency: 'CNY', status: 'succeeded', paidAt: '2026-11-22T01:00:00.000Z' });
    const results = await together(
      book.db,
      Array.from({ length: 8 }, (_, i) => ['refund', 'PCONC0000001', '250', `RCONC000000${i}`]),
    );
    expect(results.filter((r) => r.refunded === true)).toHaveLength(4);
    expect(results.filter((r) => r.refunded === false).map((r) => r.code)).toEqual(['INVALID_REQUEST', 'INVALID_REQUEST', 'INVALID_REQUEST', 'INVALID_REQUEST']);
    expect(await store.getOrder('PCONC0000001')).toMatchObject({ refundedMinor: 1000, status: 'refunded' });
    const refunds = await store.listRefunds('PCONC0000001');
    expect(refunds).toHaveLength(4);
    expect(refunds.reduce((s, r) => s + r.amountMinor, 0)).toBe(1000);
  });

  it('4 processes creating 500 orders each: none lost, none doubled', async () => {
    const before = await store.countOrders();
    const results = await together(book.db, Array.from({ length: 4 }, () => ['create', '500']));
    const numbers = results.flatMap((r) => r.orderNos as string[]);
    expect(results.map((r) => (r.orderNos as string[]).length)).toEqual([500, 500, 500, 500]);
    expect(new Set(numbers).size).toBe(2000);
    expect(await store.countOrders()).toBe(before + 2000);
    expect(await store.listEvents({ type: 'order.created', limit: 10_000 })).toHaveLength(before + 2000);
  });

  it('4 processes recording the same callback: recorded once', async () => {
    const results = await together(book.db, Array.from({ length: 4 }, () => ['callback', 'mock', 'evt_concurrent_1']));
    expect(results.filter((r) => r.recorded === true)).toHaveLength(1);
    expect(results.filter((r) => r.recorded === false)).toHaveLength(3);
    expect((await store.listEvents({ type: 'callback.recorded' })).filter((e) => e.data.dedupKey === 'evt_concurrent_1')).toHaveLength(1);
  });
});

describe.skipIf(!PG_URL)('PostgreSQL faults', () => {
  let dir: string;
  let url: string;
  let tmp: ReturnType<typeof tempDir>;
  const cluster = (...args: string[]) => execFileSync(CLUSTER, args, { encoding: 'utf8', timeout: 120_000 }).trim();

  beforeAll(() => {
    tmp = tempDir('pay-pg-fault-');
    dir = mkdtempSync(join(tmpdir(), 'pay-pg-cluster-'));
    chmodSync(dir, 0o755);
    url = cluster('start', join(dir, 'c'));
  });
  afterAll(() => {
    if (dir) {
      cluster('stop', join(dir, 'c'), 'immediate');
      rmSync(dir, { recursive: true, force: true });
    }
    tmp?.cleanup();
  });

  it('a server that is not there is exit 3 naming host:port, never the password', async () => {
    const u = new URL(url);
    const port = Number(u.port);
    cluster('stop', join(dir, 'c'), 'fast');
    try {
      const r = await runPay(['orders', 'list', '--db', url], { cwd: tmp.dir });
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`cannot reach PostgreSQL at 127.0.0.1:${port}`);
      expect(r.stderr).not.toContain(decodeURIComponent(u.password));
    } finally {
      cluster('restart', join(dir, 'c'));
    }
    expect((await runPay(['orders', 'list', '--db', url], { cwd: tmp.dir })).code).toBe(0);
  });

  it('the server stopped mid-reconcile: exit 3, nothing of the run saved; the rerun works', async () => {
    const { loadChannelModule } = await import('../../src/channel/registry.js');
    const mod = await loadChannelModule('mock');
    const rows: BillRow[] = [];
    // Empty books: every row is an item, so the run spends seconds writing items in its transaction.
    for (let i = 0; i < 30_000; i++) {
      rows.push({ line: 0, orderNo: `PFAULT${String(i).padStart(8, '0')}`, channelTradeNo: `MTF${i}`, kind: 'payment', amountMinor: 100 + (i % 50), feeMinor: 1, currency: 'CNY', time: `2026-11-22T0${i % 10}:00:00.000Z`, status: 'succeeded' });
    }
    const bill = join(tmp.dir, 'bill.csv');
    await mod.bill!.write!(bill, rows, { date: '2026-11-22' });
    const args = ['reconcile', '--channel', 'mock', '--date', '2026-11-22', '--bill', bill, '--db', url, '--json'];

    const run = runPay(args, { cwd: tmp.dir, timeoutMs: 200_000 });
    // Wait until the run is inside its transaction, writing items; then stop the server hard.
    const deadline = Date.now() + 180_000;
    for (;;) {
      const active = await pgSql(url, "SELECT query FROM pg_stat_activity WHERE application_name = 'pay' AND state = 'active' AND query LIKE 'INSERT INTO reconcile_items%'").catch(() => []);
      if (active.length) break;
      if (Date.now() > deadline) throw new Error('the reconciliation never reached its transaction');
      await sleep(25);
    }
    cluster('stop', join(dir, 'c'), 'immediate');
    const r = await run;
    cluster('restart', join(dir, 'c'));
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(JSON.parse(r.stdout).error.message).toMatch(/lost the connection to PostgreSQL at 127\.0\.0\.1:\d+.*rolled back/);
    expect(await pgSql(url, 'SELECT (SELECT COUNT(*) FROM reconcile_runs)::int AS runs, (SELECT COUNT(*) FROM reconcile_items)::int AS items')).toEqual([{ runs: 0, items: 0 }]);

    const again = await runPayJson(args.slice(0, -1), { cwd: tmp.dir, timeoutMs: 200_000 });
    expect(again.code, again.stderr).toBe(1);
    expect(again.json.summary).toMatchObject({ matched: 0, missingLocal: 30_000 });
    expect((await runPayJson(['reconcile', 'history', '--db', url], { cwd: tmp.dir })).json.runs).toHaveLength(1);
  }, 300_000);
});
