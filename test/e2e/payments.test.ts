/**
 * End to end through the real binary: the payment lifecycle on the mock channel, concurrent
 * writers on one database, and bad input that must be refused with exit 2 and nothing written.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPay, runPayJson, tempDir } from '../helpers/cli.js';

let tmp: ReturnType<typeof tempDir>;
let env: Record<string, string>;
let db: string;

beforeAll(() => {
  tmp = tempDir('pay-e2e-');
  db = join(tmp.dir, 'pay.db');
  const config = join(tmp.dir, 'pay.config.json');
  // Long enough that a busy machine still sees the order pending right after create.
  writeFileSync(config, JSON.stringify({ channels: { mock: { settleAfterMs: 2000 } } }));
  env = { PAY_DB: db, PAY_CONFIG: config, XDG_CONFIG_HOME: join(tmp.dir, 'xdg'), XDG_DATA_HOME: join(tmp.dir, 'xdg-data') };
});
afterAll(() => tmp.cleanup());

/** Polls `fn` until it returns a value (the mock settles over time), for at most 20 s. */
async function until<T>(fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('gave up waiting for the mock to settle');
    await sleep(250);
  }
}

async function orderCount(): Promise<number> {
  const r = await runPayJson(['orders', 'list', '--limit', '100000'], { env });
  expect(r.code).toBe(0);
  return r.json.total;
}

describe('payment lifecycle on the mock channel', () => {
  it('create -> query -> partial refund -> over-refund refused -> orders show', async () => {
    const created = await runPayJson(['create', '--channel', 'mock', '--amount', '12.34', '--currency', 'CNY', '--subject', 'e2e'], { env });
    expect(created.code, created.stderr).toBe(0);
    expect(created.json).toMatchObject({ kind: 'collect', channel: 'mock', status: 'pending', amount: '12.34', amountMinor: 1234, currency: 'CNY', existing: false });
    const orderNo: string = created.json.orderNo;
    expect(orderNo).toMatch(/^P\d{17}[0-9A-Z]{12}$/);

    const early = await runPayJson(['query', orderNo], { env });
    expect(early.json.status).toBe('pending');
    const paid = await until(async () => {
      const q = await runPayJson(['query', orderNo], { env });
      return q.json.status === 'succeeded' ? q : undefined;
    });
    expect(paid.code).toBe(0);
    expect(paid.json).toMatchObject({ status: 'succeeded', remote: { status: 'succeeded' } });
    expect(paid.json.paidAt).toBeTruthy();

    const r1 = await runPayJson(['refund', orderNo, '--amount', '10.00', '--reason', 'partial'], { env });
    expect(r1.code, r1.stderr).toBe(0);
    expect(r1.json).toMatchObject({ orderNo, amount: '10.00', amountMinor: 1000, reason: 'partial' });

    // 2.34 is left; 2.35 must be refused with nothing recorded.
    const eventsBefore = (await runPayJson(['orders', 'show', orderNo], { env })).json.events.length;
    const over = await runPay(['refund', orderNo, '--amount', '2.35'], { env });
    expect(over.code).toBe(2);
    expect(over.stderr).toMatch(/exceeds what is left to refund .*2\.34 CNY/);
    const afterOver = await runPayJson(['orders', 'show', orderNo], { env });
    expect(afterOver.json.refunds).toHaveLength(1);
    expect(afterOver.json.events.length).toBe(eventsBefore);

    const r2 = await runPayJson(['refund', orderNo], { env });
    expect(r2.code, r2.stderr).toBe(0);
    expect(r2.json.amount).toBe('2.34');
    const settled = await until(async () => {
      const q = await runPayJson(['query', orderNo], { env });
      return q.json.status === 'refunded' ? q : undefined;
    });
    expect(settled.json).toMatchObject({ status: 'refunded', refundedAmount: '12.34', refundedMinor: 1234 });
    expect(settled.json.refunds.map((r: { status: string }) => r.status)).toEqual(['succeeded', 'succeeded']);

    const show = await runPay(['orders', 'show', orderNo, '--no-color'], { env });
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(r1.json.refundNo);
    expect(show.stdout).toContain(r2.json.refundNo);
    expect(show.stdout).toMatch(/order\.status\s+pending -> succeeded/);
    expect(show.stdout).toMatch(/mock\.refund/);

    // Reusing the order number returns the existing order, no second charge.
    const again = await runPayJson(['create', '--channel', 'mock', '--amount', '12.34', '--currency', 'CNY', '--order-no', orderNo], { env });
    expect(again.json).toMatchObject({ orderNo, existing: true, status: 'refunded' });
    const clash = await runPay(['create', '--channel', 'mock', '--amount', '1.00', '--currency', 'CNY', '--order-no', orderNo], { env });
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/already used by a different order/);
  });

  it('pays out, reports balance, and refuses a payout beyond it (exit 1, order failed)', async () => {
    const p = await runPayJson(['payout', '--channel', 'mock', '--amount', '5.00', '--currency', 'CNY', '--to', 'supplier-1', '--name', 'Zhang San'], { env });
    expect(p.code, p.stderr).toBe(0);
    expect(p.json).toMatchObject({ kind: 'payout', status: 'pending', payee: 'supplier-1', payeeName: 'Zhang San' });
    const bal = await runPayJson(['balance', '--channel', 'mock'], { env });
    expect(bal.code).toBe(0);
    const cny = bal.json.balances.find((b: { currency: string }) => b.currency === 'CNY');
    expect(cny.availableMinor).toBeGreaterThan(0);
    const big = await runPayJson(['payout', '--channel', 'mock', '--amount', '99999999.00', '--currency', 'CNY', '--to', 'supplier-1'], { env });
    expect(big.code).toBe(1);
    expect(big.json.error).toMatchObject({ code: 'INSUFFICIENT_BALANCE' });
    const orderNo = big.json.error.details.payoutNo;
    const stored = await runPayJson(['query', orderNo, '--local'], { env });
    expect(stored.json).toMatchObject({ status: 'failed', failure: { code: 'MOCK_BALANCE_NOT_ENOUGH' } });
  });
});

describe('an order is written before its channel call', () => {
  it('a timeout leaves a created order that a later query resolves (exit 3, nothing lost)', async () => {
    const config = join(tmp.dir, 'faults.json');
    writeFileSync(
      config,
      JSON.stringify({
        channels: { mock: { settleAfterMs: 0 } },
        profiles: { timeout: { channels: { mock: { scenario: 'TIMEOUT', scenarioOps: ['collect'] } } }, limited: { channels: { mock: { scenario: 'RATE_LIMITED' } } }, broken: { channels: { mock: { scenario: 'SYSTEM_ERROR', scenarioOps: ['collect'] } } }, refundBroken: { channels: { mock: { scenario: 'SYSTEM_ERROR', scenarioOps: ['refund'] } } } },
      }),
    );
    const fenv = { ...env, PAY_CONFIG: config };
    const t = await runPayJson(['create', '--channel', 'mock', '--amount', '3.00', '--currency', 'CNY', '--profile', 'timeout'], { env: fenv });
    expect(t.code).toBe(3);
    expect(t.json.error).toMatchObject({ code: 'TIMEOUT' });
    expect(t.json.error.hint).toMatch(/pay query/);
    const orderNo = t.json.error.details.orderNo;
    expect((await runPayJson(['query', orderNo, '--local'], { env: fenv })).json.status).toBe('created');
    const resolved = await runPayJson(['query', orderNo], { env: fenv });
    expect(resolved.json.status).toBe('succeeded');

    // A refund lost the same way stays created (its amount reserved) and is sent again by number.
    const lost = await runPayJson(['refund', orderNo, '--amount', '1.00', '--profile', 'refundBroken'], { env: fenv });
    expect(lost.code).toBe(3);
    const refundNo = lost.json.error.details.refundNo;
    const seen = await runPayJson(['query', orderNo], { env: fenv });
    expect(seen.code, seen.stderr).toBe(0);
    expect(seen.json).toMatchObject({ refundsNotAtChannel: [refundNo], refunds: [{ refundNo, status: 'created' }] });
    const resent = await runPayJson(['refund', orderNo, '--refund-no', refundNo], { env: fenv });
    expect(resent.code, resent.stderr).toBe(0);
    expect(resent.json).toMatchObject({ refundNo, existing: true, amount: '1.00' });

    // Rate limited or a system error: nothing reached the channel; the query leaves the order
    // created and the same number can be sent again.
    for (const [profile, code] of [['limited', 'RATE_LIMITED'], ['broken', 'SYSTEM_ERROR']]) {
      const l = await runPayJson(['create', '--channel', 'mock', '--amount', '4.00', '--currency', 'CNY', '--profile', profile], { env: fenv });
      expect(l.code).toBe(3);
      expect(l.json.error.code).toBe(code);
      const limitedNo = l.json.error.details.orderNo;
      const notThere = await runPayJson(['query', limitedNo], { env: fenv });
      expect(notThere.json).toMatchObject({ status: 'created', notAtChannel: true });
      const retry = await runPayJson(['create', '--channel', 'mock', '--amount', '4.00', '--currency', 'CNY', '--order-no', limitedNo], { env: fenv });
      expect(retry.code).toBe(0);
      expect(retry.json).toMatchObject({ orderNo: limitedNo, status: 'succeeded', existing: true });
    }
  });
});

describe('bad input is refused with exit 2 and nothing written', () => {
  it.each([
    [['--amount', '1.234', '--currency', 'CNY'], /3 decimal places, but CNY has 2/],
    [['--amount', '5', '--currency', 'JPX'], /unknown currency JPX/],
    [['--amount', '-1', '--currency', 'CNY'], /negative/],
    [['--amount', 'abc', '--currency', 'CNY'], /not a decimal/],
    [['--amount', '1e3', '--currency', 'CNY'], /not a decimal/],
    [['--amount', '0', '--currency', 'CNY'], /greater than zero/],
    [['--amount', '1.00', '--currency', 'CNY', '--order-no', 'bad-no!'], /order number .* is not valid/],
    [['--currency', 'CNY'], /missing required option --amount/],
  ])('pay create %j', async (args, message) => {
    const before = await orderCount();
    const r = await runPay(['create', '--channel', 'mock', ...args], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(await orderCount()).toBe(before);
  });

  it('an unknown channel or flag is a usage error', async () => {
    expect((await runPay(['create', '--channel', 'nopay', '--amount', '1', '--currency', 'CNY'], { env })).code).toBe(2);
    expect((await runPay(['create', '--bogus'], { env })).code).toBe(2);
    expect((await runPay(['frobnicate'], { env })).code).toBe(2);
  });

  it('a corrupt database file', async () => {
    const bad = join(tmp.dir, 'corrupt.db');
    writeFileSync(bad, Buffer.alloc(8192, 7));
    const r = await runPay(['create', '--channel', 'mock', '--amount', '1.00', '--currency', 'CNY', '--db', bad], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a pay database/);
    const list = await runPay(['orders', 'list', '--db', bad], { env });
    expect(list.code).toBe(2);
  });

  it('an unwritable --db path', async () => {
    const file = join(tmp.dir, 'plain-file');
    writeFileSync(file, 'x');
    const r = await runPay(['create', '--channel', 'mock', '--amount', '1.00', '--currency', 'CNY', '--db', join(file, 'pay.db')], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot open database|cannot create/);
  });

  it('--json errors are one JSON document on stdout', async () => {
    const r = await runPayJson(['create', '--channel', 'mock', '--amount', '1.234', '--currency', 'CNY'], { env });
    expect(r.code).toBe(2);
    expect(r.json.error).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(r.stderr).toBe('');
  });
});

describe('concurrent writers', () => {
  it('four processes creating 100 orders each on one database file lose nothing', async () => {
    const cdb = join(tmp.dir, 'concurrent.db');
    const cenv = { ...env, PAY_DB: cdb };
    const worker = async (w: number) => {
      const codes: number[] = [];
      for (let i = 0; i < 100; i++) {
        const r = await runPay(['create', '--channel', 'mock', '--amount', `${w + 1}.${String(i).padStart(2, '0')}`, '--currency', 'CNY', '-q'], { env: cenv, timeoutMs: 60_000 });
        if (r.code !== 0) throw new Error(`worker ${w} order ${i}: exit ${r.code}: ${r.stderr}`);
        codes.push(r.code);
      }
      return codes.length;
    };
    const done = await Promise.all([0, 1, 2, 3].map(worker));
    expect(done).toEqual([100, 100, 100, 100]);
    const list = await runPayJson(['orders', 'list', '--limit', '1000'], { env: cenv });
    expect(list.json.total).toBe(400);
    expect(new Set(list.json.orders.map((o: { orderNo: string }) => o.orderNo)).size).toBe(400);
  }, 600_000);
});
