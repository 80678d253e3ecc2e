/**
 * The shared HTTP client against real node:http servers on 127.0.0.1:0: keep-alive, timeouts,
 * the retry policy (idempotent only, named statuses and resets, Retry-After, deadlines), network
 * failures classified, proxy selection from the given environment, and redacted call records.
 */
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PayError } from '../../src/core/errors.js';
import { registerSecret } from '../../src/core/redact.js';
import type { ChannelCallRecord } from '../../src/channel/contract.js';
import { backoffDelay, classifyNetworkError, createHttpClient, parseRetryAfter, safeUrl, type UndiciHttpClient } from '../../src/channel/undici-http-client.js';
import { createContext } from '../../src/commands/context.js';
import { tempDir } from '../helpers/cli.js';

type Handler = (req: IncomingMessage, res: ServerResponse, hit: number) => void;

interface TestServer {
  url: string;
  port: number;
  hits: number;
  /** Remote ports of the client sockets, one per request. */
  clientPorts: number[];
  bodies: Buffer[];
  headers: IncomingMessage['headers'][];
  close(): Promise<void>;
}

const servers: TestServer[] = [];
const clients: UndiciHttpClient[] = [];

async function serve(handler: Handler): Promise<TestServer> {
  const s: TestServer = { url: '', port: 0, hits: 0, clientPorts: [], bodies: [], headers: [], close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      s.hits++;
      s.clientPorts.push(req.socket.remotePort ?? -1);
      s.bodies.push(Buffer.concat(chunks));
      s.headers.push(req.headers);
      handler(req, res, s.hits);
    });
  });
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  s.port = (server.address() as AddressInfo).port;
  s.url = `http://127.0.0.1:${s.port}`;
  s.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  servers.push(s);
  return s;
}

function client(options: Parameters<typeof createHttpClient>[0] = {}): UndiciHttpClient {
  const c = createHttpClient({ env: {}, backoffMs: 5, ...options });
  clients.push(c);
  return c;
}

async function rejection(p: Promise<unknown>): Promise<PayError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(PayError);
    return err as PayError;
  }
  throw new Error('expected the call to fail');
}

const ok = (body = 'ok'): Handler => (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'request-id': 'req_123' });
  res.end(body);
};

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of servers.splice(0)) await s.close();
});

describe('undici HTTP client: responses and keep-alive', () => {
  it('returns status, lowercased headers and the body bytes; keeps connections alive', async () => {
    const s = await serve(ok('hello'));
    const c = client();
    for (let i = 0; i < 10; i++) {
      const r = await c.request({ method: 'GET', url: `${s.url}/v1/thing?i=${i}`, idempotent: true, operation: 'query' });
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe('hello');
      expect(r.headers['content-type']).toBe('text/plain');
      expect(r.headers['request-id']).toBe('req_123');
      expect(r.attempts).toBe(1);
      expect(r.durationMs).toBeGreaterThan(0);
    }
    expect(s.hits).toBe(10);
    // undici's pool alternates two sockets for back-to-back calls (a client counts as busy until
    // its drain event); what matters is that ten calls did not open ten connections.
    expect(new Set(s.clientPorts).size).toBeLessThanOrEqual(2);
  });

  it('sends the body byte for byte, with the given headers', async () => {
    const s = await serve(ok());
    const c = client();
    const body = Buffer.from([0xe4, 0xb8, 0xad, 0xff, 0x00, 0x41]);
    await c.request({ method: 'POST', url: `${s.url}/gateway.do`, headers: { 'content-type': 'application/octet-stream', 'x-trace': 't1' }, body, idempotent: false, operation: 'collect' });
    expect(s.bodies[0].equals(body)).toBe(true);
    expect(s.headers[0]['x-trace']).toBe('t1');
    expect(s.headers[0]['content-length']).toBe(String(body.length));
  });

  it('streams a 2xx body to a file with saveTo, and buffers an error body', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 'a');
    const s = await serve((req, res) => {
      if (req.url === '/missing') {
        res.writeHead(404).end('{"error":"no bill"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/zip' });
      res.end(big);
    });
    const t = tempDir('pay-http-');
    try {
      const c = client();
      const path = join(t.dir, 'bill.zip');
      const r = await c.request({ method: 'GET', url: `${s.url}/bill`, idempotent: true, operation: 'downloadBill', saveTo: path });
      expect(r.status).toBe(200);
      expect(r.body.length).toBe(0);
      expect(readFileSync(path).equals(big)).toBe(true);
      const miss = await c.request({ method: 'GET', url: `${s.url}/missing`, idempotent: true, operation: 'downloadBill', saveTo: join(t.dir, 'x.zip') });
      expect(miss.status).toBe(404);
      expect(miss.body.toString()).toContain('no bill');
    } finally {
      t.cleanup();
    }
  });

  it('refuses a URL that is not http(s) with CONFIG_ERROR', async () => {
    const c = client();
    const err = await rejection(c.request({ method: 'GET', url: 'ftp://example.com/x', idempotent: true, operation: 'query' }));
    expect(err.code).toBe('CONFIG_ERROR');
  });
});

describe('undici HTTP client: timeouts', () => {
  it('a response slower than the headers timeout is TIMEOUT (exit 3), and is not retried', async () => {
    const s = await serve((_req, res) => {
      const t = setTimeout(() => res.writeHead(200).end('late'), 2_000);
      res.on('close', () => clearTimeout(t));
    });
    const c = client({ headersTimeoutMs: 150 });
    const started = Date.now();
    const err = await rejection(c.request({ method: 'GET', url: `${s.url}/slow`, idempotent: true, operation: 'queryCollect' }));
    expect(err.code).toBe('TIMEOUT');
    expect(err.exitCode).toBe(3);
    expect(err.details).toMatchObject({ class: 'timeout', phase: 'headers', errorCode: 'UND_ERR_HEADERS_TIMEOUT', attempts: 1 });
    expect(err.message).toContain('150 ms');
    expect(Date.now() - started).toBeLessThan(1_800);
    expect(s.hits).toBe(1);
  });

  it('a per-call timeoutMs overrides the default', async () => {
    const s = await serve((_req, res) => {
      const t = setTimeout(() => res.writeHead(200).end('late'), 2_000);
      res.on('close', () => clearTimeout(t));
    });
    const c = client({ headersTimeoutMs: 10_000 });
    const err = await rejection(c.request({ method: 'POST', url: `${s.url}/slow`, idempotent: false, operation: 'collect', timeoutMs: 120 }));
    expect(err.code).toBe('TIMEOUT');
    expect(err.hint).toContain('outcome is unknown');
  });

  it('a body that stalls is TIMEOUT in the body phase', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"partial":');
      const t = setTimeout(() => res.end('1}'), 2_000);
      res.on('close', () => clearTimeout(t));
    });
    const c = client({ bodyTimeoutMs: 150 });
    const err = await rejection(c.request({ method: 'GET', url: `${s.url}/drip`, idempotent: true, operation: 'balance' }));
    expect(err.code).toBe('TIMEOUT');
    expect(err.details).toMatchObject({ class: 'timeout', phase: 'body' });
  });
});

describe('undici HTTP client: retries', () => {
  const flaky = (failures: number, status: number, headers: Record<string, string> = {}): Handler => (_req, res, hit) => {
    if (hit <= failures) res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(`{"error":"busy ${hit}"}`);
    else res.writeHead(200).end('fine');
  };

  it('503 then 200: an idempotent request is retried', async () => {
    const s = await serve(flaky(1, 503));
    const r = await client().request({ method: 'GET', url: `${s.url}/q`, idempotent: true, operation: 'queryCollect' });
    expect(r.status).toBe(200);
    expect(r.attempts).toBe(2);
    expect(s.hits).toBe(2);
  });

  it('503 then 200: a request not marked idempotent is sent once and the 503 comes back', async () => {
    const s = await serve(flaky(1, 503));
    const r = await client().request({ method: 'POST', url: `${s.url}/create`, body: '{}', idempotent: false, operation: 'collect' });
    expect(r.status).toBe(503);
    expect(r.attempts).toBe(1);
    expect(s.hits).toBe(1);
  });

  it('502 and 504 are retried; 500 and 4xx are not', async () => {
    for (const status of [502, 504]) {
      const s = await serve(flaky(1, status));
      const r = await client().request({ method: 'GET', url: `${s.url}/q`, idempotent: true, operation: 'q' });
      expect([status, r.status, r.attempts]).toEqual([status, 200, 2]);
    }
    for (const status of [500, 400, 404]) {
      const s = await serve(flaky(1, status));
      const r = await client().request({ method: 'GET', url: `${s.url}/q`, idempotent: true, operation: 'q' });
      expect([status, r.status, r.attempts, s.hits]).toEqual([status, status, 1, 1]);
    }
  });

  it('5xx on every attempt: SYSTEM_ERROR with the status, attempts and a body excerpt', async () => {
    const s = await serve(flaky(99, 503));
    const err = await rejection(client({ maxAttempts: 3 }).request({ method: 'GET', url: `${s.url}/q`, idempotent: true, operation: 'queryCollect' }));
    expect(err.code).toBe('SYSTEM_ERROR');
    expect(err.httpStatus).toBe(503);
    expect(err.details).toMatchObject({ status: 503, attempts: 3 });
    expect(String(err.details?.bodyExcerpt)).toContain('busy 3');
    expect(s.hits).toBe(3);
  });

  it('maxAttempts 1 on the call disables retries and returns the answer', async () => {
    const s = await serve(flaky(1, 503));
    const r = await client().request({ method: 'GET', url: `${s.url}/q`, idempotent: true, operation: 'q', maxAttempts: 1 });
    expect(r.status).toBe(503);
    expect(s.hits).toBe(1);
  });

  it('429 with Retry-After (seconds) is honoured before the retry', async () => {
    const s = await serve(flaky(1, 429, { 'retry-after': '1' }));
    const started = Date.now();
    const r = await client({ backoffMs: 1 }).request({ method: 'GET', url: `${s.url}/q`, idempotent: true, operation: 'q' });
    const waited = Date.now() - started;
    expect(r.status).toBe(200);
    expect(r.attempts).toBe(2);
    expect(waited).toBeGreaterThanOrEqual(950);
    expect(waited).toBeLessThan(5_000);
  });

  it('429 on every attempt: RATE_LIMITED (exit 3)', async () => {
    const s = await serve(flaky(99, 429));
    const err = await rejection(client({ maxAttempts: 2 }).request({ method: 'GET', url: `${s.url}/q`, idempotent: true, operation: 'balance' }));
    expect(err.code).toBe('RATE_LIMITED');
    expect(err.exitCode).toBe(3);
    expect(err.details).toMatchObject({ attempts: 2 });
  });

  it('a Retry-After longer than the cap is not waited for: RATE_LIMITED at once, saying how long', async () => {
    const s = await serve(flaky(99, 429, { 'retry-after': '120' }));
    const started = Date.now();
    const err = await rejection(client({ maxRetryAfterMs: 5_000 }).request({ method: 'GET', url: `${s.url}/q`, idempotent: true, operation: 'q' }));
    expect(err.code).toBe('RATE_LIMITED');
    expect(err.message).toContain('120 s');
    expect(err.details).toMatchObject({ retryAfterMs: 120_000, attempts: 1 });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(s.hits).toBe(1);
  });

  it('never waits past the deadline: a Retry-After beyond it ends the call', async () => {
    const s = await serve(flaky(99, 429, { 'retry-after': '2' }));
    const started = Date.now();
    const err = await rejection(client().request({ method: 'GET', url: `${s.url}/q`, idempotent: true, operation: 'q', deadlineMs: 500 }));
    expect(err.code).toBe('RATE_LIMITED');
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(s.hits).toBe(1);
  });

  it('a connection reset mid-request is retried for idempotent requests', async () => {
    const s = await serve((req, res, hit) => {
      if (hit === 1) req.socket.destroy();
      else res.writeHead(200).end('after reset');
    });
    const r = await client().request({ method: 'GET', url: `${s.url}/q`, idempotent: true, operation: 'queryCollect' });
    expect(r.body.toString()).toBe('after reset');
    expect(r.attempts).toBe(2);
    expect(s.hits).toBe(2);
  });

  it('a connection reset on a non-idempotent request is CHANNEL_ERROR (reset), sent once', async () => {
    const s = await serve((req) => req.socket.destroy());
    const err = await rejection(client().request({ method: 'POST', url: `${s.url}/create`, body: 'x', idempotent: false, operation: 'collect' }));
    expect(err.code).toBe('CHANNEL_ERROR');
    expect(err.exitCode).toBe(3);
    expect(err.details).toMatchObject({ class: 'reset' });
    expect(err.hint).toContain('outcome is unknown');
    expect(s.hits).toBe(1);
  });

  it('backoff is full jitter: within [0, base * 2^(n-1))', () => {
    expect(backoffDelay(1, 200, () => 0)).toBe(0);
    expect(backoffDelay(1, 200, () => 0.999)).toBe(199);
    expect(backoffDelay(3, 200, () => 0.5)).toBe(400);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-11-23T08:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Mon, 23 Nov 2026 08:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Mon, 23 Nov 2026 07:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe('undici HTTP client: network failures classified', () => {
  it('a refused port is CHANNEL_ERROR (refused) with advice', async () => {
    const s = await serve(ok());
    const url = s.url;
    await s.close();
    servers.splice(servers.indexOf(s), 1);
    const err = await rejection(client().request({ method: 'GET', url: `${url}/q`, idempotent: true, operation: 'queryCollect' }));
    expect(err.code).toBe('CHANNEL_ERROR');
    expect(err.exitCode).toBe(3);
    expect(err.details).toMatchObject({ class: 'refused', errorCode: 'ECONNREFUSED', attempts: 1 });
    expect(err.message).toContain('refused');
    expect(err.hint).toContain('pay sandbox');
  });

  it('an unknown host is CHANNEL_ERROR (dns)', async () => {
    const err = await rejection(client({ connectTimeoutMs: 4_000 }).request({ method: 'GET', url: 'http://no-such-host.invalid/q', idempotent: true, operation: 'q' }));
    expect(err.code).toBe('CHANNEL_ERROR');
    expect(err.details).toMatchObject({ class: 'dns' });
    expect(err.hint).toMatch(/DNS/);
  });

  it('classifies undici and socket codes it cannot easily provoke locally', () => {
    const c = { operation: 'collect', method: 'POST', origin: 'https://api.example.com', attempts: 1, headersTimeoutMs: 1, bodyTimeoutMs: 1, connectTimeoutMs: 5000, proxied: false };
    const withCode = (code: string, wrap = false) => {
      const inner = Object.assign(new Error(code), { code });
      return wrap ? Object.assign(new Error('fetch failed'), { code: 'UND_ERR_SOCKET', cause: inner }) : inner;
    };
    expect(classifyNetworkError(withCode('UND_ERR_CONNECT_TIMEOUT'), c)).toMatchObject({ code: 'TIMEOUT', details: { class: 'timeout', phase: 'connect' } });
    expect(classifyNetworkError(withCode('EAI_AGAIN'), c)).toMatchObject({ code: 'CHANNEL_ERROR', details: { class: 'dns' } });
    expect(classifyNetworkError(withCode('ECONNRESET', true), c)).toMatchObject({ code: 'CHANNEL_ERROR', details: { class: 'reset', errorCode: 'ECONNRESET' } });
    expect(classifyNetworkError(withCode('EHOSTUNREACH'), c)).toMatchObject({ details: { class: 'unreachable' } });
    expect(classifyNetworkError(withCode('CERT_HAS_EXPIRED'), c)).toMatchObject({ details: { class: 'tls' } });
    const agg = Object.assign(new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')], 'x'), {});
    expect(classifyNetworkError(agg, c)).toMatchObject({ details: { class: 'refused' } });
  });

  it('an aborted call is CHANNEL_ERROR (aborted)', async () => {
    const s = await serve((_req, res) => {
      const t = setTimeout(() => res.writeHead(200).end('late'), 2_000);
      res.on('close', () => clearTimeout(t));
    });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const err = await rejection(client().request({ method: 'GET', url: `${s.url}/q`, idempotent: true, operation: 'q', signal: ac.signal }));
    expect(err.details).toMatchObject({ class: 'aborted' });
  });
});

describe('undici HTTP client: proxies from the given environment', () => {
  let proxy: Server;
  let proxyUrl: string;
  const tunnels: string[] = [];

  beforeAll(async () => {
    // A tiny CONNECT proxy: records each tunnel and pipes bytes both ways.
    proxy = createServer((_req, res) => res.writeHead(501).end());
    proxy.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      tunnels.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(':');
      const upstream = connect(Number(port), host, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length) upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    proxy.closeAllConnections();
    await new Promise<void>((r) => proxy.close(() => r()));
  });

  it('HTTP_PROXY routes requests through the proxy', async () => {
    const s = await serve(ok('via proxy'));
    tunnels.length = 0;
    const r = await client({ env: { HTTP_PROXY: proxyUrl } }).request({ method: 'GET', url: `${s.url}/q`, idempotent: true, operation: 'q' });
    expect(r.body.toString()).toBe('via proxy');
    expect(tunnels).toEqual([`127.0.0.1:${s.port}`]);
  });

  it('NO_PROXY exempts a host (and host:port) from the proxy', async () => {
    const s = await serve(ok('direct'));
    tunnels.length = 0;
    await client({ env: { HTTP_PROXY: proxyUrl, NO_PROXY: 'localhost,127.0.0.1' } }).request({ method: 'GET', url: `${s.url}/q`, idempotent: true, operation: 'q' });
    await client({ env: { http_proxy: proxyUrl, no_proxy: `127.0.0.1:${s.port}` } }).request({ method: 'GET', url: `${s.url}/q`, idempotent: true, operation: 'q' });
    expect(tunnels).toEqual([]);
    expect(s.hits).toBe(2);
  });

  it('HTTPS_PROXY alone leaves plain http direct; only options.env counts, not process.env', async () => {
    const s = await serve(ok());
    tunnels.length = 0;
    await client({ env: { HTTPS_PROXY: proxyUrl } }).request({ method: 'GET', url: `${s.url}/q`, idempotent: true, operation: 'q' });
    const saved = process.env.HTTP_PROXY;
    process.env.HTTP_PROXY = proxyUrl;
    try {
      await client({ env: {} }).request({ method: 'GET', url: `${s.url}/q`, idempotent: true, operation: 'q' });
    } finally {
      if (saved === undefined) delete process.env.HTTP_PROXY;
      else process.env.HTTP_PROXY = saved;
    }
    expect(tunnels).toEqual([]);
  });
});

describe('undici HTTP client: call records', () => {
  it('reports every call once, with attempts and status, and never headers, bodies or secrets', async () => {
    const secret = 'sk_test_REDACTME_0123456789abcdef';
    registerSecret(secret);
    const s = await serve((_req, res, hit) => (hit === 1 ? res.writeHead(503).end() : res.writeHead(200, { 'request-id': 'req_abc' }).end('{"ok":true}')));
    const records: ChannelCallRecord[] = [];
    const c = client({ onCall: (r) => records.push(r) });
    await c.forChannel('stripe').request({
      method: 'POST',
      url: `${s.url}/v1/refunds?access_token=tok_123456789&sign=abcdefSIGN&app_id=2021&client_secret=${secret}`,
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: `amount=100&api_key=${secret}`,
      idempotent: true,
      operation: 'refund',
      orderNo: 'P1',
      refundNo: 'R1',
    });
    expect(records).toHaveLength(1);
    const rec = records[0] as ChannelCallRecord & { channel?: string };
    expect(rec).toMatchObject({ operation: 'refund', orderNo: 'P1', refundNo: 'R1', httpStatus: 200, attempts: 2, requestId: 'req_abc', channel: 'stripe' });
    const text = JSON.stringify(rec);
    expect(text).not.toContain(secret);
    expect(text).not.toContain('tok_123456789');
    expect(text).not.toContain('abcdefSIGN');
    expect(text).not.toMatch(/authorization|Bearer|amount=100/i);
    expect(text).toContain('app_id=2021');
    expect((rec.request as { url: string }).url).toContain('/v1/refunds?');
  });

  it('records failures with their code, and errors from a channel view carry the channel', async () => {
    const s = await serve(ok());
    const url = s.url;
    await s.close();
    servers.splice(servers.indexOf(s), 1);
    const records: ChannelCallRecord[] = [];
    const err = await rejection(client({ onCall: (r) => records.push(r) }).forChannel('alipay').request({ method: 'GET', url: `${url}/q`, idempotent: true, operation: 'alipay.trade.query' }));
    expect(err.channel).toBe('alipay');
    expect(records[0]).toMatchObject({ operation: 'alipay.trade.query', error: { code: 'CHANNEL_ERROR' }, attempts: 1 });
  });

  it('safeUrl masks secret-looking query values and keeps the rest', () => {
    expect(safeUrl('https://x.test/gateway.do?method=alipay.trade.query&sign=ABC&charset=utf-8')).toBe('https://x.test/gateway.do?method=alipay.trade.query&sign=%5Bredacted%5D&charset=utf-8');
    expect(safeUrl('https://x.test/a?password=p&x=1')).toBe('https://x.test/a?password=%5Bredacted%5D&x=1');
    expect(safeUrl('https://x.test/a')).toBe('https://x.test/a');
  });
});

describe('context: the default HTTP client', () => {
  it('is created lazily, shared by channels of one context, records http.call events, and closes with the context', async () => {
    const s = await serve(ok('4200'));
    const t = tempDir('pay-http-ctx-');
    try {
      // A third-party channel by path whose balance comes over HTTP.
      const modDir = join(t.dir, 'probe');
      mkdirSync(modDir);
      writeFileSync(
        join(modDir, 'index.js'),
        `export default {
          id: 'probe',
          description: { id: 'probe', name: 'Probe', version: '1', capabilities: ['balance'], config: [], timeZone: 'UTC' },
          validateConfig: (s) => s,
          create: (config, deps) => ({
            async balance() {
              const http = await deps.http();
              const r = await http.request({ method: 'GET', url: config.baseUrl + '/balance?token=tok_secret_value', idempotent: true, operation: 'balance' });
              return [{ currency: 'CNY', availableMinor: Number(r.body.toString()) }];
            },
          }),
        };\n`,
      );
      writeFileSync(join(modDir, 'package.json'), '{"type":"module"}');
      const config = join(t.dir, 'pay.config.json');
      writeFileSync(config, JSON.stringify({ channels: { probe: { module: './probe', baseUrl: s.url } } }));
      const ctx = createContext({ db: join(t.dir, 'pay.db'), config, env: {}, stdout: process.stdout, stderr: process.stderr });
      const ch = await ctx.channel('probe');
      expect(await ch.adapter.balance!()).toEqual([{ currency: 'CNY', availableMinor: 4200 }]);
      await ch.adapter.balance!();
      const store = await ctx.store();
      const events = await store.listEvents({ type: 'http.call' });
      expect(events).toHaveLength(2);
      expect(events[0].channel).toBe('probe');
      expect(events[0].data).toMatchObject({ operation: 'balance', httpStatus: 200, attempts: 1 });
      expect(JSON.stringify(events)).not.toContain('tok_secret_value');
      expect(new Set(s.clientPorts).size).toBeLessThanOrEqual(2);
      await ctx.close();
    } finally {
      t.cleanup();
    }
  });

  it('a malformed PAY_HTTP_TIMEOUT_MS is a CONFIG_ERROR', async () => {
    const t = tempDir('pay-http-ctx-');
    try {
      const modDir = join(t.dir, 'probe');
      mkdirSync(modDir);
      writeFileSync(join(modDir, 'package.json'), '{"type":"module"}');
      writeFileSync(
        join(modDir, 'index.js'),
        `export default { id: 'probe', description: { id: 'probe', name: 'P', version: '1', capabilities: ['balance'], config: [], timeZone: 'UTC' },
          validateConfig: (s) => s, create: (c, deps) => ({ async balance() { await deps.http(); return []; } }) };\n`,
      );
      const ctx = createContext({ db: join(t.dir, 'pay.db'), env: { PAY_HTTP_TIMEOUT_MS: 'soon' }, cwd: t.dir });
      const ch = await ctx.channel('./probe');
      const err = await rejection(ch.adapter.balance!());
      expect(err.code).toBe('CONFIG_ERROR');
      expect(err.message).toContain('PAY_HTTP_TIMEOUT_MS');
      await ctx.close();
    } finally {
      t.cleanup();
    }
  });
});
