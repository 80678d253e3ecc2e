/**
 * Every command on a PostgreSQL order book, through the binary (`PAY_DB=postgres://...`): the
 * payment lifecycle, verify --apply and its replay, listen recording a callback once, a load test
 * recording its orders, the demo, `pay db migrate | status | copy` (SQLite -> PostgreSQL and
 * back, idempotent), and the password never shown. Skipped without PAY_TEST_PG_URL.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCallback } from '../../channels/mock/callback.js';
import { formatRawHttp } from '../../src/verify/request-file.js';
import { freshPgSchema, PG_URL, type FreshDb } from '../helpers/backends.js';
import { runPay, runPayJson, tempDir, type RunResult } from '../helpers/cli.js';
import { post, startListen } from '../helpers/listen.js';

const SECRET = 'whsec_e2e_postgres_test_only';
const PASSWORD = PG_URL ? decodeURIComponent(new URL(PG_URL).password) : '';

describe.skipIf(!PG_URL)('every command on a PostgreSQL order book', () => {
  let tmp: ReturnType<typeof tempDir>;
  let book: FreshDb;
  let env: Record<string, string>;
  const outputs: RunResult[] = [];
  const pay = async (args: string[], extra: Record<string, string> = {}) => {
    const r = await runPay(args, { env: { ...env, ...extra }, cwd: tmp.dir, timeoutMs: 120_000 });
    outputs.push(r);
    return r;
  };
  const payJson = async (args: string[], extra: Record<string, string> = {}) => {
    const r = await runPayJson(args, { env: { ...env, ...extra }, cwd: tmp.dir, timeoutMs: 120_000 });
    outputs.push(r);
    return r;
  };
  const callbackFile = (name: string, orderNo: string, tradeNo: string, amount: string, id: string) => {
    const r = buildCallback(SECRET, 'payment.succeeded', { orderNo, tradeNo, amount, currency: 'CNY', status: 'succeeded' }, { nowMs: Date.now(), id });
    const raw: string[] = [];
    for (const [k, v] of Object.entries(r.headers)) raw.push(k, v);
    raw.push('Content-Length', String(r.body.length));
    const path = join(tmp.dir, name);
    writeFileSync(path, formatRawHttp({ method: 'POST', target: '/', rawHeaders: raw, body: r.body }));
    return { path, request: r };
  };
  const createPending = async (orderNo: string, amount: string) => {
    const r = await payJson(['create', '--channel', 'mock', '--amount', amount, '--currency', 'CNY', '--order-no', orderNo, '--profile', 'held']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.status).toBe('pending');
    return r.json as { channelTradeNo: string };
  };

  beforeAll(async () => {
    tmp = tempDir('pay-pg-e2e-');
    book = await freshPgSchema();
    const config = join(tmp.dir, 'pay.config.json');
    // The default mock settles quickly; the "held" profile keeps orders pending for callbacks.
    writeFileSync(config, JSON.stringify({ channels: { mock: { webhookSecret: SECRET, settleAfterMs: 500 } }, profiles: { held: { channels: { mock: { settleAfterMs: 3_600_000 } } } } }));
    env = { PAY_DB: book.db, PAY_CONFIG: config, XDG_CONFIG_HOME: join(tmp.dir, 'xdg'), XDG_DATA_HOME: join(tmp.dir, 'xdg-data') };
  });
  afterAll(async () => {
    await book?.cleanup();
    tmp?.cleanup();
  });

  it('create -> query -> refund -> payout -> balance -> orders list and show', async () => {
    const c = await payJson(['create', '--channel', 'mock', '--amount', '12.34', '--currency', 'CNY']);
    expect(c.code, c.stderr).toBe(0);
    const orderNo = c.json.orderNo as string;
    let status = c.json.status as string;
    for (let i = 0; i < 80 && status !== 'succeeded'; i++) {
      await sleep(250);
      status = (await payJson(['query', orderNo])).json.status;
    }
    expect(status).toBe('succeeded');
    const r = await payJson(['refund', orderNo, '--amount', '2.34']);
    expect(r.code, r.stderr).toBe(0);
    const over = await payJson(['refund', orderNo, '--amount', '10.01']);
    expect(over.code).toBe(2);
    const p = await payJson(['payout', '--channel', 'mock', '--amount', '1.00', '--currency', 'CNY', '--to', 'acct-test-1']);
    expect(p.code, p.stderr).toBe(0);
    expect((await payJson(['balance', '--channel', 'mock'])).code).toBe(0);
    const list = await payJson(['orders', 'list']);
    expect(list.json.total).toBe(2);
    const show = await payJson(['orders', 'show', orderNo]);
    expect(show.code).toBe(0);
    expect(JSON.stringify(show.json)).toContain('refund.created');
  });

  it('verify --apply moves the order once; the replay changes nothing', async () => {
    const created = await createPending('PGAPPLY0001', '5.00');
    const { path } = callbackFile('apply.http', 'PGAPPLY0001', created.channelTradeNo, '5.00', 'evt_pg_apply_1');
    const first = await payJson(['verify', path, '--apply']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json[0].apply).toMatchObject({ outcome: 'applied', to: 'succeeded', recorded: true });
    const replay = await payJson(['verify', path, '--apply']);
    expect(replay.json[0].apply).toMatchObject({ outcome: 'duplicate', recorded: false });
  });

  it('listen records a callback delivered twice once', async () => {
    const created = await createPending('PGLISTEN001', '7.00');
    const { request } = callbackFile('listen.http', 'PGLISTEN001', created.channelTradeNo, '7.00', 'evt_pg_listen_1');
    const before = (await payJson(['db', 'status'])).json.counts.callbacks as number;
    const l = startListen(['--channel', 'mock', '--profile', 'held'], tmp.dir, env);
    try {
      const url = (await l.line((x) => x.type === 'listening')).url as string;
      const replies = await Promise.all([post(url, request), post(url, request)]);
      expect(replies.map((x) => x.status)).toEqual([200, 200]);
    } finally {
      l.child.kill('SIGTERM');
      expect(await l.exited).toBe(0);
    }
    const shown = (await payJson(['orders', 'show', 'PGLISTEN001'])).json;
    expect((shown.order ?? shown).status).toBe('succeeded');
    expect((await payJson(['db', 'status'])).json.counts.callbacks).toBe(before + 1);
  });

  it('a load test with --db records its orders in the shared book', async () => {
    const before = (await payJson(['orders', 'list'])).json.total as number;
    const r = await payJson(['loadtest', '--channel', 'mock', '--concurrency', '2', '--requests', '20', '--warmup', '0', '--db', book.db]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.stringify(r.json)).toMatch(/"orderBook": ?"postgres:\/\/pay:\*\*\*@/);
    // 20 measured collects and the one before the clock started, all distinct.
    const list = (await payJson(['orders', 'list', '--limit', '1000'])).json;
    expect(list.total).toBe(before + 21);
    expect(list.orders.filter((o: { source: string }) => o.source === 'loadtest')).toHaveLength(21);
  });

  it('the demo runs on PostgreSQL', async () => {
    const demo = await freshPgSchema();
    try {
      const r = await payJson(['demo', '--db', demo.db]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json.ok).toBe(true);
      expect(r.json.dbPath).toMatch(/^postgres:\/\/pay:\*\*\*@/);
      expect((await payJson(['orders', 'list', '--db', demo.db])).json.total).toBe(6);
      expect((await payJson(['reconcile', 'history', '--db', demo.db])).json.runs).toHaveLength(6);
    } finally {
      await demo.cleanup();
    }
  });

  it('db migrate, status and copy: SQLite -> PostgreSQL and back, idempotent', async () => {
    const local = join(tmp.dir, 'local.db');
    for (const amount of ['1.00', '2.00']) expect((await pay(['create', '--channel', 'mock', '--amount', amount, '--currency', 'CNY', '--db', local])).code).toBe(0);
    const shared = await freshPgSchema();
    try {
      const m = await payJson(['db', 'migrate', '--db', shared.db]);
      expect(m.code, m.stderr).toBe(0);
      expect(m.json).toMatchObject({ backend: 'postgres', fromVersion: 0, schemaVersion: m.json.latestVersion });
      const first = await payJson(['db', 'copy', '--from', local, '--to', shared.db]);
      expect(first.code, first.stderr).toBe(0);
      expect(first.json.copied).toMatchObject({ orders: 2, events: expect.any(Number) });
      expect(first.json.copied.events).toBeGreaterThanOrEqual(4);
      const again = await payJson(['db', 'copy', '--from', local, '--to', shared.db]);
      expect(again.json.copied).toEqual({ orders: 0, refunds: 0, callbacks: 0, events: 0, reconcile_runs: 0, reconcile_items: 0 });
      // The whole PostgreSQL book (lifecycle, callbacks, reconciliation not included) back into a new SQLite file.
      const back = join(tmp.dir, 'back.db');
      const out = await payJson(['db', 'copy', '--from', book.db, '--to', back]);
      expect(out.code, out.stderr).toBe(0);
      const src = (await payJson(['db', 'status'])).json.counts;
      const dst = (await payJson(['db', 'status', '--db', back])).json.counts;
      expect(dst).toEqual(src);
      const status = await pay(['db', 'status', '--db', shared.db]);
      expect(status.stdout).toMatch(/location\s+postgres:\/\/pay:\*\*\*@127\.0\.0\.1:\d+\/pay_test/);
      expect(status.stdout).toMatch(/orders\s+2/);
    } finally {
      await shared.cleanup();
    }
  });

  it('never shows the password', () => {
    expect(PASSWORD.length).toBeGreaterThan(8);
    for (const r of outputs) {
      expect(r.stdout).not.toContain(PASSWORD);
      expect(r.stderr).not.toContain(PASSWORD);
    }
  });
});
