/**
 * `--channel auto` end to end: Alipay (pointed at local servers that refuse, hang or answer 503)
 * first, the mock second. A refused connection and a 503 fall back to the mock; a timeout after
 * the request was sent does NOT (the order stays with Alipay for `pay query`). `pay routes list`
 * and `explain`, bad rules refused with their position, and the health check over the event log
 * (skip, then recovery as the failures leave the window).
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../../src/commands/context.js';
import { routesExplain } from '../../src/commands/routes.js';
import { isoUtc } from '../../src/core/time.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { runPay, runPayJson, tempDir } from '../helpers/cli.js';

class Sink extends Writable {
  override _write(_c: Buffer, _e: BufferEncoding, done: () => void): void {
    done();
  }
}

let tmp: ReturnType<typeof tempDir>;
let env: Record<string, string>;
const servers: Server[] = [];
let hangRequests = 0;

async function listen(handler: Parameters<typeof createServer>[1]): Promise<number> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return (s.address() as AddressInfo).port;
}

const RULES = { rules: [{ match: { currency: 'CNY' }, targets: [{ channel: 'alipay', priority: 1 }, { channel: 'mock', priority: 2 }] }] };

beforeAll(async () => {
  tmp = tempDir('pay-routing-');
  // Test-only keys: Alipay's settings must load, nothing here ever verifies a signature.
  const pem = (k: ReturnType<typeof generateKeyPairSync>['privateKey']) => k.export({ type: 'pkcs8', format: 'pem' }) as string;
  const app = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(tmp.dir, 'test-only-app.pem'), pem(app.privateKey));
  writeFileSync(join(tmp.dir, 'test-only-alipay.pub'), app.publicKey.export({ type: 'spki', format: 'pem' }) as string);
  // A port with nothing listening: bind, note, close.
  const refusedPort = await listen(() => {});
  await new Promise<void>((r) => servers.pop()!.close(() => r()));
  const hangPort = await listen(() => {
    hangRequests++; // reads the request, never answers
  });
  const unavailablePort = await listen((_req, res) => res.writeHead(503, { 'content-type': 'text/plain' }).end('down for maintenance'));
  const gateway = (port: number) => ({ channels: { alipay: { gateway: `http://127.0.0.1:${port}/gateway.do` } } });
  writeFileSync(
    join(tmp.dir, 'pay.config.json'),
    JSON.stringify({
      channels: {
        alipay: { appId: '2021000000000001', privateKey: 'file:test-only-app.pem', alipayPublicKey: 'file:test-only-alipay.pub' },
        mock: { settleAfterMs: 600_000 },
      },
      routing: RULES,
      profiles: {
        refused: gateway(refusedPort),
        hang: gateway(hangPort),
        unavailable: gateway(unavailablePort),
        misconfigured: { channels: { alipay: { privateKey: 'file:test-only-missing.pem' } } },
        weighted: {
          ...gateway(unavailablePort),
          routing: { rules: [{ match: { currency: 'CNY', method: 'qr' }, targets: [{ channel: 'alipay', weight: 70 }, { channel: 'mock', weight: 30 }] }], health: { window: '15m', minSuccessRate: 0.9, minCalls: 20 } },
        },
        bad: { routing: { rules: [RULES.rules[0], { match: { currency: 'USD' }, targets: [{ channel: 'wechatpay', weight: 5 }] }] } },
      },
    }),
  );
  env = { PAY_CONFIG: join(tmp.dir, 'pay.config.json'), PAY_DB: join(tmp.dir, 'pay.db'), XDG_CONFIG_HOME: join(tmp.dir, 'xdg'), XDG_DATA_HOME: join(tmp.dir, 'xdg-data'), PAY_HTTP_TIMEOUT_MS: '600' };
});
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
  tmp.cleanup();
});

async function events(orderNo: string): Promise<{ type: string; channel?: string; data: Record<string, unknown> }[]> {
  return (await runPayJson(['orders', 'show', orderNo], { env })).json.events;
}

describe('fallback', () => {
  it('a refused connection falls back to the next target; every attempt is an event', async () => {
    const r = await runPayJson(['create', '--channel', 'auto', '--amount', '1.00', '--currency', 'CNY', '--profile', 'refused'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ channel: 'mock', status: 'pending' });
    expect(r.json.route.attempts).toEqual([
      { channel: 'alipay', outcome: 'failed', errorCode: 'CHANNEL_ERROR', errorClass: 'refused', fellBack: true },
      { channel: 'mock', outcome: 'accepted' },
    ]);
    const ev = await events(r.json.orderNo);
    expect(ev.filter((e) => e.type === 'route.attempt').map((e) => [e.channel, e.data.outcome])).toEqual([
      ['alipay', 'failed'],
      ['mock', 'accepted'],
    ]);
    expect(ev.find((e) => e.type === 'order.rerouted')?.data).toMatchObject({ from: 'alipay', to: 'mock' });
    expect(ev.find((e) => e.type === 'order.created')?.channel).toBe('alipay');
    const show = await runPay(['orders', 'show', r.json.orderNo, '--no-color'], { env });
    expect(show.stdout).toMatch(/route\.attempt\s+rule 1, attempt 1: failed CHANNEL_ERROR \(refused\), next target/);
    expect(show.stdout).toMatch(/order\.rerouted\s+alipay -> mock \(route\.fallback\)/);
  });

  it('a channel whose settings are refused (nothing sent) falls back too', async () => {
    const r = await runPayJson(['create', '--channel', 'auto', '--amount', '1.00', '--currency', 'CNY', '--profile', 'misconfigured'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.channel).toBe('mock');
    expect(r.json.route.attempts[0]).toMatchObject({ channel: 'alipay', outcome: 'failed', errorCode: 'CONFIG_ERROR', fellBack: true });
    // Nothing was written for the channel that never got the order.
    expect((await events(r.json.orderNo)).filter((e) => e.type === 'order.created').map((e) => e.channel)).toEqual(['mock']);
  });

  it('a 503 (not processed) falls back too', async () => {
    const r = await runPayJson(['create', '--channel', 'auto', '--amount', '1.00', '--currency', 'CNY', '--profile', 'unavailable'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.channel).toBe('mock');
    expect(r.json.route.attempts[0]).toMatchObject({ channel: 'alipay', errorCode: 'SYSTEM_ERROR', fellBack: true });
  });

  it('NO fallback after a timeout once the request was sent: the order stays with Alipay, exit 3', async () => {
    const before = hangRequests;
    const r = await runPayJson(['create', '--channel', 'auto', '--amount', '1.00', '--currency', 'CNY', '--profile', 'hang'], { env });
    expect(r.code).toBe(3);
    expect(r.json.error).toMatchObject({ code: 'TIMEOUT' });
    expect(hangRequests).toBeGreaterThan(before);
    const orderNo = r.json.error.details.orderNo;
    const q = await runPayJson(['query', orderNo, '--local'], { env });
    expect(q.json).toMatchObject({ channel: 'alipay', status: 'created' });
    const ev = await events(orderNo);
    expect(ev.filter((e) => e.type === 'route.attempt').map((e) => [e.channel, e.data.outcome, e.data.fellBack])).toEqual([['alipay', 'failed', false]]);
    expect(ev.some((e) => e.type === 'order.rerouted')).toBe(false);
  });
});

describe('pay routes', () => {
  it('list shows the rules; a profile replaces them', async () => {
    const l = await runPayJson(['routes', 'list'], { env });
    expect(l.code, l.stderr).toBe(0);
    expect(l.json).toMatchObject({ source: 'routing', fallback: true, rules: [{ position: 1, targets: [{ channel: 'alipay', priority: 1 }, { channel: 'mock', priority: 2 }] }] });
    const p = await runPayJson(['routes', 'list', '--profile', 'weighted'], { env });
    expect(p.json).toMatchObject({ source: 'profiles.weighted.routing', health: { window: '15m', minCalls: 20 } });
    const text = await runPay(['routes', 'list', '--no-color'], { env });
    expect(text.stdout).toMatch(/alipay p1 w1, mock p2 w1/);
  });

  it('explain names the rule, the order and the chosen target; no rule is exit 1', async () => {
    const e = await runPayJson(['routes', 'explain', '--amount', '120.00', '--currency', 'CNY'], { env });
    expect(e.code, e.stderr).toBe(0);
    expect(e.json).toMatchObject({ matched: true, chosen: 'alipay', rule: { position: 1 }, order: [{ channel: 'alipay' }, { channel: 'mock' }] });
    const none = await runPayJson(['routes', 'explain', '--amount', '1.00', '--currency', 'USD'], { env });
    expect(none.code).toBe(1);
    expect(none.json).toMatchObject({ matched: false });
    const auto = await runPayJson(['create', '--channel', 'auto', '--amount', '1.00', '--currency', 'USD'], { env });
    expect(auto.code).toBe(2);
    expect(auto.json.error.message).toMatch(/no routing rule matches 1\.00 USD/);
  });

  it('bad rules are refused at load with their position (exit 2), before anything is written', async () => {
    const r = await runPay(['routes', 'list', '--profile', 'bad'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/profiles\.bad\.routing\.rules\[1\] \(rule 2\): target 1: channel wechatpay cannot take USD/);
    const c = await runPay(['create', '--channel', 'auto', '--amount', '1.00', '--currency', 'CNY', '--profile', 'bad', '--order-no', 'BADRULES0001'], { env });
    expect(c.code).toBe(2);
    expect((await runPayJson(['query', 'BADRULES0001', '--local'], { env })).json.error.code).toBe('ORDER_NOT_FOUND');
  });
});

describe('health from the event log', () => {
  it('skips a failing target, then takes it back once its failures leave the window', async () => {
    const db = join(tmp.dir, 'health.db');
    const store = SqliteStore.open(db);
    const t0 = Date.parse('2026-12-04T10:00:00Z');
    // 30 Alipay calls over the last 10 minutes, the first 12 timeouts (60% success); a refusal is an answer.
    for (let i = 0; i < 30; i++) {
      const error = i < 12 ? { code: 'TIMEOUT', message: 'no answer' } : i < 15 ? { code: 'INVALID_REQUEST', message: 'bad' } : undefined;
      await store.appendEvent({ type: 'channel.call', channel: 'alipay', at: isoUtc(t0 - 600_000 + i * 20_000), data: { operation: 'alipay.trade.precreate', durationMs: 20, ...(error ? { error } : {}) } });
    }
    await store.close();
    let now = t0;
    const ctx = createContext({ db, config: env.PAY_CONFIG, profile: 'weighted', env: {}, cwd: tmp.dir, json: true, interactive: false, stdout: new Sink(), stderr: new Sink(), clock: () => now });
    try {
      const sick = await routesExplain({ amount: '10.00', currency: 'CNY', method: 'qr', seed: '1' }, ctx);
      expect(sick.plan!.order.map((t) => t.channel)).toEqual(['mock']);
      expect(sick.plan!.skipped).toMatchObject([{ channel: 'alipay', reason: 'unhealthy', health: { calls: 30, failures: 12, successRate: 0.6 } }]);
      now = t0 + 9 * 60_000; // the 15-minute window now starts after the timeouts: 18 calls, none failed
      const recovered = await routesExplain({ amount: '10.00', currency: 'CNY', method: 'qr', seed: '1' }, ctx);
      expect(recovered.plan!.skipped).toEqual([]);
      expect(recovered.plan!.order.map((t) => t.channel).sort()).toEqual(['alipay', 'mock']);
      expect(recovered.plan!.order.find((t) => t.channel === 'alipay')!.health).toMatchObject({ calls: 18, failures: 0, successRate: 1 });
    } finally {
      await ctx.close();
    }
  });
});
