/**
 * `pay listen` end to end: the binary receives the mock channel's signed callback, saves it
 * byte-exact (a file `pay verify` reads back as valid), verifies it, applies it to the order
 * book, answers the mock's success reply and forwards the request unchanged to a local app
 * (which fails once, so the retry is exercised). Unsigned and forged callbacks get the mock's
 * failure reply and change nothing. SIGTERM stops it with exit 0.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawRequest } from '../../src/channel/contract.js';
import { buildCallback } from '../../channels/mock/callback.js';
import { parseRequestFile } from '../../src/verify/request-file.js';
import { runPayJson, tempDir } from '../helpers/cli.js';
import { post, startApp, startListen } from '../helpers/listen.js';

const SECRET = 'whsec_e2e_listen_test_only';
let dir = '';
let cleanup = () => {};
let env: Record<string, string> = {};

const listen = (args: string[]) => startListen(args, dir, env);

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
    const l = listen(['--channel', 'mock', '--save-dir', saveDir, '--forward-to', app.url]);
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
    const l = listen(['--no-apply']);
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
