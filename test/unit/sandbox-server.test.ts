/**
 * The sandbox framework with the test-only testpay simulator: listeners and ports, the control
 * API, every fault kind, notification delivery with retries, and a clean close.
 */
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { simulatorIds, startSandbox, SANDBOX_CHANNELS, type RunningSandbox } from '../../src/sandbox/server.js';
import { malform, validateFault } from '../../src/sandbox/faults.js';
import type { SimulatorModule } from '../../src/sandbox/contract.js';
import { simulator as testpay, RETRY_DELAYS_MS } from '../helpers/testpay/sandbox.mjs';
import { SIGNATURE_HEADER, verifyBody } from '../helpers/testpay/protocol.mjs';

const running: RunningSandbox[] = [];
const receivers: Server[] = [];

async function start(options: Parameters<typeof startSandbox>[0] = {}): Promise<RunningSandbox> {
  const sb = await startSandbox({ channels: ['testpay'], simulators: { testpay }, ...options });
  running.push(sb);
  return sb;
}

afterEach(async () => {
  for (const sb of running.splice(0)) await sb.close();
  for (const r of receivers.splice(0)) {
    r.closeAllConnections();
    await new Promise<void>((done) => r.close(() => done()));
  }
});

interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A plain request (a fresh connection each time, so resets do not leak between calls). */
function call(url: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = httpRequest(url, { method, headers: { 'content-type': 'application/json', ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

function api(sb: RunningSandbox) {
  const p = sb.profile('testpay');
  const auth = { authorization: `Bearer ${String(p.apiKey)}` };
  return {
    profile: p,
    get: (path: string) => call(`${sb.baseUrl('testpay')}${path}`, 'GET', undefined, auth),
    post: (path: string, body: unknown) => call(`${sb.baseUrl('testpay')}${path}`, 'POST', body, auth),
    control: (path: string, method = 'GET', body?: unknown) => call(`${sb.baseUrl('testpay')}/__sandbox/${path}`, method, body),
  };
}

/** A merchant notify endpoint that fails the first `failures` deliveries. */
async function receiver(failures: number): Promise<{ url: string; hits: { at: number; body: string; headers: IncomingMessage['headers'] }[] }> {
  const hits: { at: number; body: string; headers: IncomingMessage['headers'] }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits.push({ at: Date.now(), body: Buffer.concat(chunks).toString('utf8'), headers: req.headers });
      if (hits.length <= failures) res.writeHead(500).end('busy');
      else res.writeHead(200).end('SUCCESS');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  receivers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`, hits };
}

async function freePort(port = 0): Promise<number> {
  const s = createServer();
  s.listen(port, '127.0.0.1');
  await once(s, 'listening');
  const got = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return got;
}

/** A port whose next one is free too (other tests' servers come and go on this machine). */
async function freePortPair(): Promise<number> {
  for (;;) {
    const base = await freePort();
    if (base < 65535 && (await freePort(base + 1).catch(() => 0)) === base + 1) return base;
  }
}

async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs = 5_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('sandbox: listeners, profiles and the control API', () => {
  it('serves a simulator on loopback with its profile, health and the real API paths', async () => {
    const sb = await start();
    expect(Object.keys(sb.channels)).toEqual(['testpay']);
    expect(sb.baseUrl('testpay')).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const a = api(sb);
    expect(a.profile).toMatchObject({ baseUrl: sb.baseUrl('testpay'), merchantId: 'M100001' });
    const health = await a.control('health');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ ok: true, channel: 'testpay', baseUrl: sb.baseUrl('testpay') });
    const created = await a.post('/v1/orders', { order_no: 'SB0001', amount: '12.34', currency: 'CNY', subject: 'x' });
    expect(created.status).toBe(200);
    expect(JSON.parse(created.body)).toMatchObject({ order_no: 'SB0001', status: 'WAITING' });
    // The simulator signs its answers; the framework passes them through untouched.
    const check = verifyBody(String(a.profile.platformPublicKey), created.headers[SIGNATURE_HEADER] as string, Buffer.from(created.body), Date.now());
    expect(check.ok).toBe(true);
    const unknown = await a.get('/v9/nothing');
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body).error.code).toBe('NOT_FOUND');
    expect(sb.requests('testpay').map((r) => `${r.method} ${r.url} ${r.status}`)).toEqual(['POST /v1/orders 200', 'GET /v9/nothing 404']);
  });

  it('gives channel i port base + i, and lists requested channels without a simulator', async () => {
    const base = await freePortPair();
    const sb = await start({ port: base, channels: ['testpay', 'other'], simulators: { testpay, other: { ...testpay, id: 'other' } as SimulatorModule } });
    expect(sb.channels.testpay.port).toBe(base);
    expect(sb.channels.other.port).toBe(base + 1);
    // A real channel whose simulator is not written yet (none, once every channel has one).
    const missing = SANDBOX_CHANNELS.find((id) => !simulatorIds().includes(id));
    if (missing) {
      const bare = await start({ channels: [missing] });
      expect(Object.keys(bare.channels)).toEqual([]);
      expect(bare.unavailable).toEqual([missing]);
    }
  });

  it('serves every real channel that has a simulator by default, and names the rest', async () => {
    const sb = await startSandbox();
    running.push(sb);
    expect([...Object.keys(sb.channels), ...sb.unavailable].sort()).toEqual([...SANDBOX_CHANNELS].sort());
    for (const ch of Object.values(sb.channels)) {
      const h = await call(`${ch.baseUrl}/__sandbox/health`);
      expect(h.status).toBe(200);
    }
  });

  it('refuses unknown channels, non-loopback hosts and ports in use, leaving nothing running', async () => {
    await expect(startSandbox({ channels: ['nosuch'] })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(startSandbox({ channels: ['testpay'], simulators: { testpay }, host: '0.0.0.0' })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    const sb = await start();
    await expect(start({ port: sb.channels.testpay.port })).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringContaining('in use') });
  });

  it('control API: pay, bad input answered 400, unknown endpoints 404', async () => {
    const sb = await start();
    const a = api(sb);
    await a.post('/v1/orders', { order_no: 'SB0002', amount: '1.00', currency: 'CNY' });
    expect((await a.control('pay', 'POST', { orderNo: 'SB0002' })).status).toBe(200);
    expect(JSON.parse((await a.get('/v1/orders/SB0002')).body).status).toBe('PAID');
    const missing = await a.control('pay', 'POST', { orderNo: 'NOPE' });
    expect(missing.status).toBe(400);
    expect(JSON.parse(missing.body).error.code).toBe('ORDER_NOT_FOUND');
    expect((await a.control('pay', 'POST', 'not json')).status).toBe(400);
    expect((await a.control('faults', 'POST', { kind: 'explode' })).status).toBe(400);
    expect((await a.control('faults', 'POST', { kind: 'status', match: '(' })).status).toBe(400);
    expect((await a.control('nothing')).status).toBe(404);
  });

  it('close stops the listeners', async () => {
    const sb = await start();
    const url = sb.baseUrl('testpay');
    expect((await api(sb).get('/v1/bills/2026-01-01')).status).toBe(200);
    await sb.close();
    running.splice(running.indexOf(sb), 1);
    await expect(call(`${url}/__sandbox/health`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('sandbox: faults', () => {
  it('status: 503 once with the neutral body, then the simulator answers', async () => {
    const sb = await start();
    const a = api(sb);
    const f = await a.control('faults', 'POST', { kind: 'status', status: 503, match: '^GET /v1/balance' });
    expect(f.status).toBe(201);
    const first = await a.get('/v1/balance');
    expect(first.status).toBe(503);
    expect(JSON.parse(first.body).error.code).toBe('SANDBOX_FAULT');
    expect((await a.get('/v1/balance')).status).toBe(200);
    expect(sb.requests('testpay').map((r) => [r.status, r.fault, r.handled])).toEqual([
      [503, 'status', false],
      [200, undefined, true],
    ]);
  });

  it('status 429 carries Retry-After; times and method matching', async () => {
    const sb = await start();
    const a = api(sb);
    sb.fault('testpay', { kind: 'status', status: 429, retryAfter: 2, match: 'GET', times: 2 });
    const r1 = await a.get('/v1/balance');
    expect([r1.status, r1.headers['retry-after']]).toEqual([429, '2']);
    expect((await a.post('/v1/orders', { order_no: 'SB0003', amount: '1.00', currency: 'CNY' })).status).toBe(200);
    expect((await a.get('/v1/balance')).status).toBe(429);
    expect((await a.get('/v1/balance')).status).toBe(200);
  });

  it('bodyMatch narrows a fault to requests whose body matches; times 0 lasts until cleared', async () => {
    const sb = await start();
    const a = api(sb);
    sb.fault('testpay', { kind: 'status', status: 502, match: '/v1/orders', bodyMatch: '"order_no":"HIT', times: 0 });
    expect((await a.post('/v1/orders', { order_no: 'MISS01', amount: '1.00', currency: 'CNY' })).status).toBe(200);
    expect((await a.post('/v1/orders', { order_no: 'HIT001', amount: '1.00', currency: 'CNY' })).status).toBe(502);
    expect((await a.post('/v1/orders', { order_no: 'HIT002', amount: '1.00', currency: 'CNY' })).status).toBe(502);
    expect(JSON.parse((await a.control('faults')).body).faults).toHaveLength(1);
    expect(JSON.parse((await a.control('faults', 'DELETE')).body).cleared).toBe(1);
    expect((await a.post('/v1/orders', { order_no: 'HIT003', amount: '1.00', currency: 'CNY' })).status).toBe(200);
  });

  it('reset: the connection is dropped without an answer, and the simulator is not called', async () => {
    const sb = await start();
    const a = api(sb);
    sb.fault('testpay', { kind: 'reset', match: '/v1/orders' });
    await expect(a.post('/v1/orders', { order_no: 'SB0004', amount: '1.00', currency: 'CNY' })).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect((await a.get('/v1/orders/SB0004')).status).toBe(404);
  });

  it('delay: the request is processed at once and the answer held back', async () => {
    const sb = await start();
    const a = api(sb);
    sb.fault('testpay', { kind: 'delay', delayMs: 400, match: '/v1/orders$' });
    const started = Date.now();
    const pending = a.post('/v1/orders', { order_no: 'SB0005', amount: '1.00', currency: 'CNY' });
    await waitFor('the order to exist', () => sb.requests('testpay')[0]?.handled);
    const r = await pending;
    expect(r.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
  });

  it('malformed: the real answer cut in half (or the given body)', async () => {
    const sb = await start();
    const a = api(sb);
    const whole = (await a.get('/v1/balance')).body;
    sb.fault('testpay', { kind: 'malformed', match: '/v1/balance' });
    const bad = await a.get('/v1/balance');
    expect(bad.status).toBe(200);
    expect(() => JSON.parse(bad.body)).toThrow();
    expect(bad.body).toBe(whole.slice(0, Math.ceil(whole.length / 2)));
    expect(sb.requests('testpay')[1].responseExcerpt).toBe(bad.body.slice(0, 200));
    sb.fault('testpay', { kind: 'malformed', match: '/v1/balance', body: '<html>proxy error</html>' });
    expect((await a.get('/v1/balance')).body).toBe('<html>proxy error</html>');
    expect(malform({ status: 200, headers: { 'Content-Length': '4' }, body: '{"a":1}' }).headers).toEqual({});
  });

  it('badSignature / missingSignature go through the simulator’s tamper()', async () => {
    const sb = await start();
    const a = api(sb);
    const key = String(a.profile.platformPublicKey);
    sb.fault('testpay', { kind: 'badSignature', match: '/v1/balance' });
    const bad = await a.get('/v1/balance');
    expect(bad.headers[SIGNATURE_HEADER]).toBeDefined();
    expect(verifyBody(key, bad.headers[SIGNATURE_HEADER] as string, Buffer.from(bad.body), Date.now()).ok).toBe(false);
    sb.fault('testpay', { kind: 'missingSignature', match: '/v1/balance' });
    const none = await a.get('/v1/balance');
    expect(none.headers[SIGNATURE_HEADER]).toBeUndefined();
    const good = await a.get('/v1/balance');
    expect(verifyBody(key, good.headers[SIGNATURE_HEADER] as string, Buffer.from(good.body), Date.now()).ok).toBe(true);
  });

  it('validates fault specs', () => {
    expect(() => validateFault({ kind: 'delay' })).toThrow(/delayMs/);
    expect(() => validateFault({ kind: 'status', status: 99 })).toThrow(/status/);
    expect(() => validateFault({ kind: 'status', times: -1 })).toThrow(/times/);
    expect(validateFault({ kind: 'status', status: 429, retryAfter: 'Wed, 21 Oct 2026 07:28:00 GMT' })).toEqual({ kind: 'status', status: 429, retryAfter: 'Wed, 21 Oct 2026 07:28:00 GMT' });
  });
});

describe('sandbox: notifications', () => {
  it('delivers a signed notification, retrying on the schedule until the merchant accepts', async () => {
    const sb = await start();
    const a = api(sb);
    const rx = await receiver(2);
    await a.post('/v1/orders', { order_no: 'SB0006', amount: '3.21', currency: 'CNY', notify_url: rx.url });
    await sb.pay('testpay', 'SB0006');
    await sb.notificationsIdle();
    expect(rx.hits).toHaveLength(3);
    const log = sb.deliveries('testpay');
    expect(log.map((d) => [d.attempt, d.status, d.accepted, d.final])).toEqual([
      [1, 500, false, false],
      [2, 500, false, false],
      [3, 200, true, true],
    ]);
    // Waits follow the schedule (timers may run late on a busy machine, never early).
    expect(rx.hits[1].at - rx.hits[0].at).toBeGreaterThanOrEqual(RETRY_DELAYS_MS[0] - 5);
    expect(rx.hits[2].at - rx.hits[1].at).toBeGreaterThanOrEqual(RETRY_DELAYS_MS[1] - 5);
    const body = JSON.parse(rx.hits[2].body);
    expect(body).toMatchObject({ type: 'payment.succeeded', data: { order_no: 'SB0006', amount: '3.21', status: 'PAID' } });
    expect(verifyBody(String(a.profile.platformPublicKey), rx.hits[2].headers[SIGNATURE_HEADER] as string, Buffer.from(rx.hits[2].body), Date.now()).ok).toBe(true);
    expect(JSON.parse((await a.control('notifications')).body).deliveries).toHaveLength(3);
  });

  it('gives up after the schedule runs out; an unreachable URL is logged as a failed attempt', async () => {
    const sb = await start();
    const a = api(sb);
    const rx = await receiver(99);
    await a.post('/v1/orders', { order_no: 'SB0007', amount: '1.00', currency: 'CNY', notify_url: rx.url });
    await sb.pay('testpay', 'SB0007');
    await sb.notificationsIdle();
    expect(rx.hits).toHaveLength(RETRY_DELAYS_MS.length + 1);
    expect(sb.deliveries('testpay').at(-1)).toMatchObject({ accepted: false, final: true });

    await a.post('/v1/orders', { order_no: 'SB0008', amount: '1.00', currency: 'CNY', notify_url: 'http://127.0.0.1:1/notify' });
    await sb.pay('testpay', 'SB0008');
    const first = await waitFor('an attempt', () => sb.deliveries('testpay').find((d) => d.description.includes('SB0008')));
    expect(first).toMatchObject({ accepted: false, error: 'ECONNREFUSED' });
  });

  it('uses the webhook URL for orders without a notify URL', async () => {
    const rx = await receiver(0);
    const sb = await start({ webhookUrl: rx.url });
    const a = api(sb);
    await a.post('/v1/orders', { order_no: 'SB0009', amount: '1.00', currency: 'CNY' });
    await sb.pay('testpay', 'SB0009');
    await sb.notificationsIdle();
    expect(rx.hits).toHaveLength(1);
    const rx2 = await receiver(0);
    expect((await a.control('webhook', 'POST', { url: rx2.url })).status).toBe(200);
    await a.post('/v1/orders', { order_no: 'SB0010', amount: '1.00', currency: 'CNY' });
    await sb.pay('testpay', 'SB0010');
    await sb.notificationsIdle();
    expect(rx2.hits).toHaveLength(1);
  });

  it('close cancels pending retries', async () => {
    const sb = await start();
    const a = api(sb);
    const rx = await receiver(99);
    await a.post('/v1/orders', { order_no: 'SB0011', amount: '1.00', currency: 'CNY', notify_url: rx.url });
    await sb.pay('testpay', 'SB0011');
    await waitFor('the first attempt', () => rx.hits.length === 1);
    await sb.close();
    running.splice(running.indexOf(sb), 1);
    await new Promise((r) => setTimeout(r, RETRY_DELAYS_MS[0] + RETRY_DELAYS_MS[1] + 100));
    expect(rx.hits).toHaveLength(1);
    await sb.notificationsIdle();
  });
});

describe('sandbox: work directories', () => {
  it('each simulator gets a temp work dir that close removes', async () => {
    let dir = '';
    const probe: SimulatorModule = {
      id: 'probe',
      create: (deps) => {
        dir = deps.workDir;
        expect(deps.baseUrl?.()).toBe('');
        return {
          id: 'probe',
          handle: async () => ({ status: 200, body: deps.baseUrl?.() ?? '' }),
          profile: (baseUrl) => ({ baseUrl }),
          simulatePayment: async () => {},
          tamper: (r) => r,
        };
      },
    };
    const sb = await start({ channels: ['probe'], simulators: { probe } });
    expect(existsSync(dir)).toBe(true);
    expect((await call(`${sb.baseUrl('probe')}/x`)).body).toBe(sb.baseUrl('probe'));
    await sb.close();
    running.splice(running.indexOf(sb), 1);
    expect(existsSync(dir)).toBe(false);
  });
});
