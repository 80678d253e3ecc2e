/**
 * `pay listen` end to end: the binary receives the mock channel's signed callback, saves it
 * byte-exact (a file `pay verify` reads back as valid), verifies it, applies it to the order
 * book, answers the mock's success reply and forwards the request unchanged to a local app
 * (which fails once, so the retry is exercised). Unsigned and forged callbacks get the mock's
 * failure reply and change nothing. SIGTERM stops it with exit 0.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawRequest } from '../../src/channel/contract.js';
import { buildCallback } from '../../channels/mock/callback.js';
import { parseRequestFile } from '../../src/verify/request-file.js';
import { BIN, cleanEnv, runPayJson, tempDir } from '../helpers/cli.js';

const SECRET = 'whsec_e2e_listen_test_only';
let dir = '';
let cleanup = () => {};
let env: Record<string, string> = {};

interface AppRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

/** The developer's app: records what it gets, answers 503 to the first request. */
function startApp(): Promise<{ server: Server; url: string; got: AppRequest[] }> {
  const got: AppRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks) });
      res.writeHead(got.length === 1 ? 503 : 200).end('app');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, got })));
}

/** A running `pay listen` with its NDJSON lines. */
class Listener {
  readonly lines: Record<string, unknown>[] = [];
  private buffer = '';
  private waiters: (() => void)[] = [];
  stderr = '';
  readonly exited: Promise<number>;
  constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      this.buffer += d;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        if (line.trim()) this.lines.push(JSON.parse(line) as Record<string, unknown>);
        for (const w of this.waiters.splice(0)) w();
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  }
  async line(pred: (l: Record<string, unknown>) => boolean, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(pred);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching line; got ${JSON.stringify(this.lines)}\nstderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }
}

function startListen(args: string[]): Listener {
  const child = spawn(process.execPath, [BIN, 'listen', '--port', '0', '--json', ...args], { cwd: dir, env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
  return new Listener(child);
}

/** POSTs a request's exact bytes; resolves with the reply. */
function post(url: string, r: RawRequest): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(r.target ?? '/', url);
    const req = httpRequest(u, { method: 'POST', headers: { ...r.headers, 'content-length': String(r.body.length) } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(r.body);
  });
}

async function createPending(orderNo: string, amount: string) {
  const r = await runPayJson(['create', '--channel', 'mock', '--amount', amount, '--currency', 'CNY', '--order-no', orderNo], { env, cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  expect(r.json.status).toBe('pending');
  return r.json as { channelTradeNo: string; updatedAt: string };
}

async function orderOf(orderNo: string) {
  const r = await runPayJson(['orders', 'show', orderNo], { env, cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  return r.json.order ?? r.json;
}

beforeAll(() => {
  ({ dir, cleanup } = tempDir('pay-listen-e2e-'));
  writeFileSync(join(dir, 'pay.config.json'), JSON.stringify({ channels: { mock: { webhookSecret: SECRET, settleAfterMs: 3_600_000 } } }));
  env = { PAY_DB: join(dir, 'pay.db'), PAY_CONFIG: join(dir, 'pay.config.json') };
});
afterAll(() => cleanup());

describe('pay listen', () => {
  it('saves, verifies, applies, answers and forwards a signed callback; refuses unsigned and forged ones', async () => {
    const paid = await createPending('LISTENPAID01', '12.34');
    const untouched = await createPending('LISTENKEEP01', '20.00');
    const app = await startApp();
    const saveDir = join(dir, 'saved');
    const l = startListen(['--channel', 'mock', '--save-dir', saveDir, '--forward-to', app.url]);
    try {
      const ready = await l.line((x) => x.type === 'listening');
      const url = ready.url as string;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

      const signed = buildCallback(SECRET, 'payment.succeeded', { orderNo: 'LISTENPAID01', tradeNo: paid.channelTradeNo, amount: '12.34', currency: 'CNY', status: 'succeeded' }, { nowMs: Date.now(), target: '/hooks/mock?src=test' });
      const reply = await post(url, signed);
      expect(reply.status).toBe(200);
      expect(reply.body).toBe('{"received":true}');
      expect(reply.headers['content-type']).toBe('application/json');

      const line = await l.line((x) => x.type === 'callback' && x.seq === 1);
      expect(line).toMatchObject({
        verdict: 'valid',
        channel: 'mock',
        orderNo: 'LISTENPAID01',
        amount: '12.34',
        amountMinor: 1234,
        replyStatus: 200,
        apply: { outcome: 'applied', from: 'pending', to: 'succeeded' },
        forward: { ok: true, status: 200, attempts: 2 },
      });

      // Forwarded unchanged: method, path, signature header, body bytes (twice: 503, then 200).
      expect(app.got).toHaveLength(2);
      for (const g of app.got) {
        expect(g.method).toBe('POST');
        expect(g.url).toBe('/hooks/mock?src=test');
        expect(g.headers['pay-mock-signature']).toBe(signed.headers['pay-mock-signature']);
        expect(g.headers['content-type']).toBe('application/json');
        expect(g.body.equals(signed.body)).toBe(true);
      }

      // Saved byte-exact, in the raw-HTTP format `pay verify` reads back as valid.
      const saved = line.saved as string;
      expect(readdirSync(saveDir)).toHaveLength(1);
      const parsed = parseRequestFile(readFileSync(saved), { source: saved }).entries[0].request!;
      expect(parsed.body.equals(signed.body)).toBe(true);
      expect(parsed.target).toBe('/hooks/mock?src=test');
      const reverify = await runPayJson(['verify', saved], { env, cwd: dir });
      expect(reverify.code, reverify.stderr).toBe(0);
      expect(reverify.json[0]).toMatchObject({ verdict: 'valid', orderNo: 'LISTENPAID01' });
      expect((await orderOf('LISTENPAID01')).status).toBe('succeeded');

      // Unsigned: the mock's failure reply, nothing applied.
      const unsigned = buildCallback(SECRET, 'payment.succeeded', { orderNo: 'LISTENKEEP01', amount: '20.00', currency: 'CNY', status: 'succeeded' }, { nowMs: Date.now() });
      delete (unsigned.headers as Record<string, string>)['pay-mock-signature'];
      const r2 = await post(url, unsigned);
      expect(r2.status).toBe(400);
      expect(JSON.parse(r2.body)).toEqual({ error: 'MALFORMED' });
      const l2 = await l.line((x) => x.type === 'callback' && x.seq === 2);
      expect(l2).toMatchObject({ verdict: 'invalid', reasonCode: 'MALFORMED', replyStatus: 400 });
      expect(l2.apply).toBeUndefined();

      // Forged: signed with another secret.
      const forged = buildCallback('whsec_not_the_right_one', 'payment.succeeded', { orderNo: 'LISTENKEEP01', amount: '20.00', currency: 'CNY', status: 'succeeded' }, { nowMs: Date.now() });
      const r3 = await post(url, forged);
      expect(r3.status).toBe(400);
      expect(JSON.parse(r3.body)).toEqual({ error: 'BAD_SIGNATURE' });
      await l.line((x) => x.type === 'callback' && x.seq === 3);

      const keep = await orderOf('LISTENKEEP01');
      expect(keep.status).toBe('pending');
      expect(keep.updatedAt).toBe(untouched.updatedAt);
      expect(readdirSync(saveDir)).toHaveLength(3);

      l.child.kill('SIGTERM');
      expect(await l.exited).toBe(0);
      expect(l.lines.at(-1)).toMatchObject({ type: 'stopped', received: 3, valid: 1, invalid: 2, errors: 0 });
    } finally {
      if (l.child.exitCode === null) l.child.kill('SIGKILL');
      app.server.close();
    }
  });

  it('detects the channel per request; --no-apply leaves the order book alone', async () => {
    await createPending('LISTENNOAPP1', '1.00');
    const l = startListen(['--no-apply']);
    try {
      const url = (await l.line((x) => x.type === 'listening')).url as string;
      const signed = buildCallback(SECRET, 'payment.succeeded', { orderNo: 'LISTENNOAPP1', amount: '1.00', currency: 'CNY', status: 'succeeded' }, { nowMs: Date.now() });
      const reply = await post(url, signed);
      expect(reply.status).toBe(200);
      const line = await l.line((x) => x.type === 'callback');
      expect(line).toMatchObject({ verdict: 'valid', channel: 'mock' });
      expect(line.apply).toBeUndefined();
      expect((await orderOf('LISTENNOAPP1')).status).toBe('pending');
      // A request no channel recognises gets a plain 400 naming the problem.
      const junk = await post(url, { method: 'POST', target: '/x', headers: { 'content-type': 'text/plain' }, body: Buffer.from('hello') });
      expect(junk.status).toBe(400);
      expect(junk.body).toMatch(/pay listen: /);
      l.child.kill('SIGINT');
      expect(await l.exited).toBe(0);
    } finally {
      if (l.child.exitCode === null) l.child.kill('SIGKILL');
    }
  });
});
