/**
 * What landed beside PostgreSQL, on a PostgreSQL order book through the binary: `pay cancel`,
 * `--channel auto` falling back (the order rerouted, with its `order.rerouted` event), `pay routes
 * explain` skipping a target the health check (over the event log) finds failing, and `pay stats`
 * (--json and --alert), and `pay capture` against the Stripe simulator. The same commands also run on a SQLite book, and the two give the same
 * figures. The password is never shown. Skipped without PAY_TEST_PG_URL.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateId } from '../../src/core/ids.js';
import { isoUtc } from '../../src/core/time.js';
import { openStore, resolveDbTarget } from '../../src/store/open.js';
import { freshPgSchema, PG_URL, pgSql, type FreshDb } from '../helpers/backends.js';
import { runPay, runPayJson, tempDir, type RunResult } from '../helpers/cli.js';
import { sandboxFixture, type SandboxFixture } from '../helpers/contract-suite.js';

const PASSWORD = PG_URL ? decodeURIComponent(new URL(PG_URL).password) : '';

interface Book {
  name: string;
  env: Record<string, string>;
}

describe.skipIf(!PG_URL)('cancel, routing and stats on a PostgreSQL order book', () => {
  let tmp: ReturnType<typeof tempDir>;
  let pgBook: FreshDb;
  let books: Book[];
  /** The seeded calls are all before this; the test's own calls after. */
  let t0: number;
  const outputs: RunResult[] = [];
  const pay = async (book: Book, args: string[]) => {
    const r = await runPay(args, { env: book.env, cwd: tmp.dir, timeoutMs: 120_000 });
    outputs.push(r);
    return r;
  };
  const payJson = async (book: Book, args: string[]) => {
    const r = await runPayJson(args, { env: book.env, cwd: tmp.dir, timeoutMs: 120_000 });
    outputs.push(r);
    return r;
  };

  beforeAll(async () => {
    tmp = tempDir('pay-pg-features-');
    pgBook = await freshPgSchema();
    // Test-only keys: Alipay's settings must load; its gateway is a port nothing listens on.
    const app = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(tmp.dir, 'test-only-app.pem'), app.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    writeFileSync(join(tmp.dir, 'test-only-alipay.pub'), app.publicKey.export({ type: 'spki', format: 'pem' }) as string);
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const refusedPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const rules = [{ match: { currency: 'CNY' }, targets: [{ channel: 'alipay', priority: 1 }, { channel: 'mock', priority: 2 }] }];
    writeFileSync(
      join(tmp.dir, 'pay.config.json'),
      JSON.stringify({
        channels: {
          alipay: { appId: '2021000000000001', privateKey: 'file:test-only-app.pem', alipayPublicKey: 'file:test-only-alipay.pub', gateway: `http://127.0.0.1:${refusedPort}/gateway.do` },
          mock: { settleAfterMs: 600_000 },
        },
        routing: { rules },
        profiles: { health: { routing: { rules, health: { window: '15m', minSuccessRate: 0.9, minCalls: 20 } } } },
      }),
    );
    const base = { PAY_CONFIG: join(tmp.dir, 'pay.config.json'), XDG_CONFIG_HOME: join(tmp.dir, 'xdg'), XDG_DATA_HOME: join(tmp.dir, 'xdg-data'), PAY_HTTP_TIMEOUT_MS: '2000' };
    books = [
      { name: 'postgres', env: { ...base, PAY_DB: pgBook.db } },
      { name: 'sqlite', env: { ...base, PAY_DB: join(tmp.dir, 'pay.db') } },
    ];
    // The same history of Alipay calls in both books: 30 in the last 10 minutes, 12 timed out.
    t0 = Date.now();
    for (const book of books) {
      const store = await openStore(resolveDbTarget(book.env.PAY_DB));
      try {
        for (let i = 0; i < 30; i++) {
          const error = i < 12 ? { code: 'TIMEOUT', message: 'no answer' } : i < 15 ? { code: 'INVALID_REQUEST', message: 'bad' } : undefined;
          await store.appendEvent({ type: 'channel.call', channel: 'alipay', at: isoUtc(t0 - 600_000 + i * 20_000), data: { operation: 'alipay.trade.precreate', durationMs: 20 + i / 10, ...(error ? { error } : {}) } });
        }
      } finally {
        await store.close();
      }
    }
  }, 60_000);
  afterAll(async () => {
    await pgBook?.cleanup();
    tmp?.cleanup();
  });

  /** Runs the same commands on a book; what stats must then agree on. */
  const exercise = async (book: Book) => {
    // pay cancel: closed once, a second cancel changes nothing, an unknown order is its code.
    const created = await payJson(book, ['create', '--channel', 'mock', '--amount', '5.00', '--currency', 'CNY']);
    expect(created.code, created.stderr).toBe(0);
    const orderNo = created.json.orderNo as string;
    const first = await payJson(book, ['cancel', orderNo]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json).toMatchObject({ orderNo, status: 'closed', outcome: 'closed', changed: true, amount: '5.00', amountMinor: 500 });
    const second = await pay(book, ['cancel', orderNo, '--no-color']);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/already closed; nothing changed/);
    expect((await payJson(book, ['cancel', 'NOSUCHORDER123'])).json.error).toMatchObject({ code: 'ORDER_NOT_FOUND' });

    // --channel auto: Alipay refuses the connection, the order moves to the mock.
    const auto = await payJson(book, ['create', '--channel', 'auto', '--amount', '1.00', '--currency', 'CNY']);
    expect(auto.code, auto.stderr).toBe(0);
    expect(auto.json).toMatchObject({ channel: 'mock', status: 'pending' });
    expect(auto.json.route.attempts).toEqual([
      { channel: 'alipay', outcome: 'failed', errorCode: 'CHANNEL_ERROR', errorClass: 'refused', fellBack: true },
      { channel: 'mock', outcome: 'accepted' },
    ]);
    const show = await payJson(book, ['orders', 'show', auto.json.orderNo]);
    expect(show.json.events.find((e: { type: string }) => e.type === 'order.rerouted')).toMatchObject({ channel: 'mock', data: { from: 'alipay', to: 'mock' } });

    // The health check reads the book: Alipay at 60% of 31 calls is skipped.
    const explain = await payJson(book, ['routes', 'explain', '--amount', '10.00', '--currency', 'CNY', '--profile', 'health']);
    expect(explain.code, explain.stderr).toBe(0);
    expect(explain.json.chosen).toBe('mock');
    expect(explain.json.skipped).toMatchObject([{ channel: 'alipay', reason: 'unhealthy', health: { calls: 31, failures: 13 } }]);

    const stats = await payJson(book, ['stats']);
    expect(stats.code, stats.stderr).toBe(0);
    // The seeded history alone: durations known, so latencies compare too.
    const seeded = await payJson(book, ['stats', '--until', isoUtc(t0)]);
    expect(seeded.code, seeded.stderr).toBe(0);
    const alert = await payJson(book, ['stats', '--alert', 'success_rate<0.9']);
    expect(alert.code).toBe(1);
    expect(alert.json.breaches).toEqual([{ alert: 'success_rate<0.9', channel: 'alipay', operation: 'alipay.trade.precreate', actual: expect.any(Number), limit: 90, unit: '%' }]);
    return { all: stats.json as { rows: Record<string, unknown>[]; amounts: unknown[] }, seeded: seeded.json as { rows: Record<string, unknown>[] } };
  };

  it('cancel, --channel auto with its reroute, routes explain and stats give the same figures on PostgreSQL as on SQLite', async () => {
    const [{ all: pg, seeded }, { all: sqlite, seeded: sqliteSeeded }] = [await exercise(books[0]), await exercise(books[1])];
    // Durations of the calls this test made differ run to run; everything else must match.
    const figures = (s: typeof pg) => ({ rows: s.rows.map(({ p50, p95, p99, max, mean, ...rest }) => rest), amounts: s.amounts });
    expect(figures(pg)).toEqual(figures(sqlite));
    expect(seeded.rows).toEqual(sqliteSeeded.rows);
    expect(seeded.rows).toEqual([expect.objectContaining({ channel: 'alipay', calls: 30, failures: 12, p50: expect.any(Number), max: 22.9 })]);
    expect(pg.rows.map((r) => [r.channel, r.operation, r.calls])).toEqual(expect.arrayContaining([['alipay', 'alipay.trade.precreate', 31]]));
    expect(pg.amounts).toEqual([expect.objectContaining({ channel: 'mock', kind: 'collect', currency: 'CNY', count: 2, byStatus: { closed: 1, pending: 1 } })]);
  }, 180_000);

  it('never shows the password', () => {
    expect(outputs.length).toBeGreaterThan(10);
    for (const r of outputs) {
      expect(r.stdout).not.toContain(PASSWORD);
      expect(r.stderr).not.toContain(PASSWORD);
    }
  });
});

describe.skipIf(!PG_URL)('pay capture on a PostgreSQL order book (Stripe simulator)', () => {
  let fx: SandboxFixture;
  let book: FreshDb;
  const pay = (args: string[]) => runPayJson(args, { env: { ...fx.env, PAY_DB: book.db }, cwd: fx.dir, timeoutMs: 120_000 });

  beforeAll(async () => {
    fx = await sandboxFixture('stripe', { currency: 'USD' });
    book = await freshPgSchema();
  }, 60_000);
  afterAll(async () => {
    await fx?.close();
    await book?.cleanup();
  });

  it('captures part: the order takes the captured amount, the event keeps the authorization, refunds are bounded by it', async () => {
    const orderNo = generateId('payment');
    const created = await pay(['create', '--channel', 'stripe', '--amount', '50.00', '--currency', 'USD', '--order-no', orderNo, '--capture', 'manual']);
    expect(created.code, created.stderr).toBe(0);
    await fx.sandbox.pay('stripe', orderNo);
    const cap = await pay(['capture', orderNo, '--amount', '30.00']);
    expect(cap.code, cap.stderr).toBe(0);
    expect(cap.json).toMatchObject({ status: 'succeeded', amount: '30.00', amountMinor: 3000, capture: { authorizedMinor: 5000, capturedMinor: 3000, releasedMinor: 2000 } });
    expect((await pay(['query', orderNo, '--local'])).json).toMatchObject({ status: 'succeeded', amountMinor: 3000 });
    const show = await pay(['orders', 'show', orderNo]);
    expect(show.json.events.find((e: { type: string }) => e.type === 'order.captured').data).toMatchObject({ authorizedMinor: 5000, capturedMinor: 3000, releasedMinor: 2000 });
    const over = await pay(['refund', orderNo, '--amount', '30.01']);
    expect(over.code).toBe(2);
    for (const r of [created, cap, show, over]) expect(r.stdout + r.stderr).not.toContain(PASSWORD);
    // The book written is the PostgreSQL one, not the fixture's SQLite file.
    expect(await pgSql(book.db, 'SELECT status, amount_minor FROM orders WHERE order_no = $1', [orderNo])).toEqual([{ status: 'succeeded', amount_minor: '3000' }]);
  }, 120_000);
});
