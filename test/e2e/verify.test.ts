/**
 * `pay verify` end to end through the binary, on mock-channel callbacks signed by
 * channels/mock/callback.ts: valid; tampered body, signature and header; expired, then valid
 * with --at and --tolerance; several files, a directory and a glob; the --json shape; --apply
 * (moves the order, a replay changes nothing and says so, unknown order, amount mismatch, no
 * change for an invalid callback); config and input errors (exit 2).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawRequest } from '../../src/channel/contract.js';
import { buildCallback, type MockEventData, type MockEventType } from '../../channels/mock/callback.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { formatRawHttp } from '../../src/verify/request-file.js';
import { runPay, runPayJson, tempDir } from '../helpers/cli.js';

const SECRET = 'whsec_e2e_verify_test_only';
let dir = '';
let cleanup = () => {};
let env: Record<string, string> = {};

/** Writes a request as a raw HTTP file (what `pay listen` saves). */
function save(name: string, r: RawRequest, mutate?: (bytes: Buffer) => Buffer): string {
  const raw: string[] = [];
  for (const [k, v] of Object.entries(r.headers)) raw.push(k, v);
  raw.push('Content-Length', String(r.body.length));
  let bytes = formatRawHttp({ method: r.method ?? 'POST', target: r.target ?? '/', rawHeaders: raw, body: r.body });
  if (mutate) bytes = mutate(bytes);
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

function callback(type: MockEventType, data: MockEventData, nowMs = Date.now(), id?: string): RawRequest {
  return buildCallback(SECRET, type, data, { nowMs, id });
}

/** Replaces the first occurrence of `from` with `to` (same length: Content-Length stays right). */
function replaceOnce(bytes: Buffer, from: string, to: string): Buffer {
  expect(to.length).toBe(from.length);
  const at = bytes.indexOf(from);
  expect(at).toBeGreaterThanOrEqual(0);
  const out = Buffer.from(bytes);
  out.write(to, at, 'latin1');
  return out;
}

function pay(args: string[]) {
  return runPay(args, { env, cwd: dir });
}
function payJson(args: string[]) {
  return runPayJson(args, { env, cwd: dir });
}

async function createPending(orderNo: string, amount: string, currency = 'CNY') {
  const r = await payJson(['create', '--channel', 'mock', '--amount', amount, '--currency', currency, '--order-no', orderNo]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.json.status).toBe('pending');
  return r.json;
}

async function order(orderNo: string) {
  const r = await payJson(['orders', 'show', orderNo]);
  expect(r.code, r.stderr).toBe(0);
  return r.json.order ?? r.json;
}

beforeAll(() => {
  ({ dir, cleanup } = tempDir('pay-verify-e2e-'));
  // settleAfterMs keeps created orders pending, so callbacks are what moves them.
  writeFileSync(join(dir, 'pay.config.json'), JSON.stringify({ channels: { mock: { webhookSecret: SECRET, settleAfterMs: 3_600_000 } } }));
  env = { PAY_DB: join(dir, 'pay.db'), PAY_CONFIG: join(dir, 'pay.config.json') };
});
afterAll(() => cleanup());

describe('verdicts', () => {
  it('a signed callback is valid, with what it claims and the reply (--json shape)', async () => {
    const file = save('valid.http', callback('payment.succeeded', { orderNo: 'ORDERVALID01', tradeNo: 'MT0001', amount: '12.34', currency: 'CNY', status: 'succeeded' }, Date.now(), 'evt_valid_1'));
    const r = await payJson(['verify', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toHaveLength(1);
    expect(r.json[0]).toMatchObject({
      file,
      verdict: 'valid',
      valid: true,
      channel: 'mock',
      scheme: 'mock-hmac-sha256',
      eventType: 'payment.succeeded',
      kind: 'payment',
      orderNo: 'ORDERVALID01',
      channelTradeNo: 'MT0001',
      amount: '12.34',
      amountMinor: 1234,
      currency: 'CNY',
      status: 'succeeded',
      reply: { status: 200, headers: { 'content-type': 'application/json' }, body: '{"received":true}' },
      dedupKey: 'evt_valid_1',
    });
    expect(r.json[0].reason).toBeUndefined();
  });

  it('the human table shows one row per callback and a summary', async () => {
    const file = save('human.http', callback('refund.succeeded', { orderNo: 'ORDERHUMAN01', refundNo: 'REFUND0001', amount: '5.00', currency: 'CNY', status: 'succeeded' }));
    const r = await pay(['verify', file, '--no-color']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^file\s+verdict\s+channel\s+event\s+order no\s+trade no\s+amount\s+status\s+reply\s+reason$/);
    expect(lines[1]).toMatch(/human\.http\s+valid\s+mock\s+refund\.succeeded\s+ORDERHUMAN01\s+5\.00 CNY\s+succeeded\s+200 \{"received":true\}/);
    expect(r.stdout).toMatch(/1 callback: 1 valid, 0 invalid/);
  });

  it('a one-byte change to the body, the signature or the header is invalid (exit 1) with the reason', async () => {
    const cb = callback('payment.succeeded', { orderNo: 'ORDERTAMPER1', amount: '12.34', currency: 'CNY', status: 'succeeded' });
    const sig = cb.headers['pay-mock-signature'];
    const v1 = sig.slice(sig.indexOf('v1=') + 3);
    const t = sig.slice(2, sig.indexOf(','));
    const flip = (c: string) => (c === '0' ? '1' : '0');
    const files = [
      save('tamper-body.http', cb, (b) => replaceOnce(b, '"12.34"', '"12.35"')),
      save('tamper-sig.http', cb, (b) => replaceOnce(b, v1.slice(0, 10), v1.slice(0, 9) + flip(v1[9]))),
      save('tamper-header.http', cb, (b) => replaceOnce(b, `t=${t}`, `t=${t.slice(0, -1)}${flip(t.at(-1)!)}`)),
    ];
    const r = await payJson(['verify', ...files]);
    expect(r.code).toBe(1);
    expect(r.json.map((x: { verdict: string }) => x.verdict)).toEqual(['invalid', 'invalid', 'invalid']);
    for (const x of r.json) {
      expect(x.reasonCode).toBe('BAD_SIGNATURE');
      expect(x.reason).toMatch(/signature does not match/);
      expect(x.reply).toMatchObject({ status: 400 });
    }
    // The body still parses, so the invalid callback still says what it claims.
    expect(r.json[0].amount).toBe('12.35');
  });

  it('a callback without its signature header: no channel claims it (exit 2); with --channel it is malformed (exit 1)', async () => {
    const cb = callback('payment.succeeded', { orderNo: 'ORDERNOSIG01', amount: '1.00', currency: 'CNY', status: 'succeeded' });
    const file = save('nosig.http', { ...cb, headers: { 'content-type': 'application/json' } });
    const auto = await payJson(['verify', file]);
    expect(auto.code).toBe(2);
    expect(auto.json[0]).toMatchObject({ verdict: 'error', error: { code: 'INVALID_REQUEST' } });
    expect(auto.json[0].reason).toMatch(/no channel recognises nosig\.http|no channel recognises .*nosig\.http/);
    const forced = await payJson(['verify', file, '--channel', 'mock']);
    expect(forced.code).toBe(1);
    expect(forced.json[0]).toMatchObject({ verdict: 'invalid', reasonCode: 'MALFORMED', channel: 'mock' });
  });

  it('an old callback is EXPIRED, and valid again --at its time or with a wider --tolerance', async () => {
    const then = Date.now() - 3 * 3600_000;
    const file = save('old.http', callback('payment.succeeded', { orderNo: 'ORDEROLD0001', amount: '3.00', currency: 'CNY', status: 'succeeded' }, then));
    const now = await payJson(['verify', file]);
    expect(now.code).toBe(1);
    expect(now.json[0]).toMatchObject({ verdict: 'invalid', reasonCode: 'EXPIRED' });
    expect(now.json[0].reason).toMatch(/--at/);
    const at = await payJson(['verify', file, '--at', new Date(then + 60_000).toISOString()]);
    expect(at.code, at.stderr).toBe(0);
    const unix = await payJson(['verify', file, '--at', String(Math.floor(then / 1000))]);
    expect(unix.code).toBe(0);
    const wide = await payJson(['verify', file, '--tolerance', String(4 * 3600)]);
    expect(wide.code).toBe(0);
    const narrow = await payJson(['verify', file, '--at', new Date(then + 120_000).toISOString(), '--tolerance', '60']);
    expect(narrow.code).toBe(1);
    expect(narrow.json[0].reasonCode).toBe('EXPIRED');
  });

  it('bad --at and --tolerance are usage errors', async () => {
    const file = join(dir, 'valid.http');
    expect((await pay(['verify', file, '--at', 'yesterday'])).code).toBe(2);
    const t = await pay(['verify', file, '--tolerance', '-5']);
    expect(t.code).toBe(2);
    expect(t.stderr).toMatch(/--tolerance "-5" is not a whole number of seconds/);
  });
});

describe('several files', () => {
  it('a directory gives every file in it, sorted; any invalid exits 1', async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'batch'));
    save('batch/b-valid.http', callback('payment.succeeded', { orderNo: 'ORDERBATCH02', amount: '2.00', currency: 'CNY', status: 'succeeded' }));
    save('batch/a-valid.http', callback('payment.failed', { orderNo: 'ORDERBATCH01', amount: '1.00', currency: 'CNY', status: 'failed' }));
    save('batch/c-bad.http', callback('payment.succeeded', { orderNo: 'ORDERBATCH03', amount: '3.00', currency: 'CNY', status: 'succeeded' }), (b) => replaceOnce(b, '"3.00"', '"4.00"'));
    const r = await payJson(['verify', 'batch']);
    expect(r.code).toBe(1);
    expect(r.json.map((x: { file: string; verdict: string }) => [x.file, x.verdict])).toEqual([
      [join('batch', 'a-valid.http'), 'valid'],
      [join('batch', 'b-valid.http'), 'valid'],
      [join('batch', 'c-bad.http'), 'invalid'],
    ]);
  });

  it('a quoted glob is expanded by pay; an unreadable file among them exits 2 and the rest are still judged', async () => {
    const glob = await payJson(['verify', 'batch/*-valid.http']);
    expect(glob.code).toBe(0);
    expect(glob.json).toHaveLength(2);
    writeFileSync(join(dir, 'garbage.bin'), Buffer.from([0, 1, 2, 3, 0xff, 0xfe]));
    const mixed = await payJson(['verify', 'batch/*-valid.http', 'garbage.bin', 'batch/c-bad.http']);
    expect(mixed.code).toBe(2);
    expect(mixed.json.map((x: { verdict: string }) => x.verdict)).toEqual(['valid', 'valid', 'error', 'invalid']);
    expect(mixed.json[2].error).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(mixed.json[2].reason).toMatch(/binary data/);
    const none = await pay(['verify', 'batch/*.nothing']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/matches no files/);
  });

  it('a HAR file gives one row per entry', async () => {
    const a = callback('payment.succeeded', { orderNo: 'ORDERHAR0001', amount: '1.00', currency: 'CNY', status: 'succeeded' });
    const b = callback('payment.succeeded', { orderNo: 'ORDERHAR0002', amount: '2.00', currency: 'CNY', status: 'succeeded' });
    const entry = (r: RawRequest, text: string) => ({
      request: { method: 'POST', url: 'https://shop.example/notify/mock', headers: Object.entries(r.headers).map(([name, value]) => ({ name, value })), postData: { mimeType: 'application/json', text } },
    });
    writeFileSync(join(dir, 'cap.har'), JSON.stringify({ log: { version: '1.2', entries: [entry(a, a.body.toString()), entry(b, b.body.toString().replace('"2.00"', '"2.01"'))] } }));
    const r = await payJson(['verify', 'cap.har']);
    expect(r.code).toBe(1);
    expect(r.json.map((x: { entry: number; verdict: string; orderNo: string }) => [x.entry, x.verdict, x.orderNo])).toEqual([
      [1, 'valid', 'ORDERHAR0001'],
      [2, 'invalid', 'ORDERHAR0002'],
    ]);
  });

  it('a bare body verifies with --header', async () => {
    const cb = callback('payment.succeeded', { orderNo: 'ORDERBARE001', amount: '1.00', currency: 'CNY', status: 'succeeded' });
    writeFileSync(join(dir, 'bare.json'), cb.body);
    const ok = await payJson(['verify', 'bare.json', '--header', `Pay-Mock-Signature: ${cb.headers['pay-mock-signature']}`]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.json[0].orderNo).toBe('ORDERBARE001');
    const without = await payJson(['verify', 'bare.json']);
    expect(without.code).toBe(2);
    expect(without.json[0].error.hint).toMatch(/--header/);
  });

  it('bad input files: empty, headers without a body, truncated, empty HAR (each exit 2)', async () => {
    writeFileSync(join(dir, 'empty.http'), '');
    writeFileSync(join(dir, 'headers-only.http'), 'POST /notify HTTP/1.1\r\nPay-Mock-Signature: t=1,v1=00\r\n');
    writeFileSync(join(dir, 'truncated.http'), 'POST /notify HTTP/1.1\r\nContent-Length: 500\r\n\r\n{"id":"evt_');
    writeFileSync(join(dir, 'empty.har'), JSON.stringify({ log: { entries: [] } }));
    for (const [file, message] of [
      ['empty.http', /empty/],
      ['headers-only.http', /headers without a body/],
      ['truncated.http', /truncated/],
      ['empty.har', /no entries/],
    ] as const) {
      const r = await pay(['verify', file]);
      expect(r.code, file).toBe(2);
      expect(r.stdout, file).toMatch(message);
    }
  });
});

describe('--apply', () => {
  it('moves the order; a replay changes nothing and says so', async () => {
    const created = await createPending('ORDERAPPLY01', '12.34');
    expect(created.channelTradeNo).toMatch(/^MT/);
    // A callback whose trade number is not the one the order book holds is refused.
    const otherTrade = save('apply-trade.http', callback('payment.succeeded', { orderNo: 'ORDERAPPLY01', tradeNo: 'MTOTHER', amount: '12.34', currency: 'CNY', status: 'succeeded' }));
    const refused = await payJson(['verify', otherTrade, '--apply']);
    expect(refused.code).toBe(1);
    expect(refused.json[0].apply).toMatchObject({ outcome: 'mismatch' });
    expect(refused.json[0].apply.message).toMatch(/trade number MTOTHER differs/);
    const file = save('apply.http', callback('payment.succeeded', { orderNo: 'ORDERAPPLY01', tradeNo: created.channelTradeNo, amount: '12.34', currency: 'CNY', status: 'succeeded' }));
    const first = await payJson(['verify', file, '--apply']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json[0].apply).toMatchObject({ outcome: 'applied', from: 'pending', to: 'succeeded', recorded: true, orderNo: 'ORDERAPPLY01' });
    const after = await order('ORDERAPPLY01');
    expect(after.status).toBe('succeeded');

    const replay = await payJson(['verify', file, '--apply']);
    expect(replay.code).toBe(0);
    expect(replay.json[0].apply).toMatchObject({ outcome: 'duplicate', recorded: false });
    expect(replay.json[0].apply.message).toMatch(/replay: already recorded .*nothing changed/);
    const again = await order('ORDERAPPLY01');
    expect(again.updatedAt).toBe(after.updatedAt);
    expect(again.status).toBe('succeeded');

    const human = await pay(['verify', file, '--apply', '--no-color']);
    expect(human.stdout).toMatch(/duplicate: replay/);
  });

  it('a callback for an unknown order is reported, changes nothing and is not recorded (exit 1)', async () => {
    const file = save('unknown.http', callback('payment.succeeded', { orderNo: 'ORDERNOTHERE', amount: '1.00', currency: 'CNY', status: 'succeeded' }, Date.now(), 'evt_unknown_1'));
    const r = await payJson(['verify', file, '--apply']);
    expect(r.code).toBe(1);
    expect(r.json[0]).toMatchObject({ verdict: 'valid', apply: { outcome: 'unknown-order', recorded: false } });
    expect(r.json[0].apply.message).toMatch(/ORDERNOTHERE is not in the order book; nothing changed/);
    const store = SqliteStore.open(env.PAY_DB);
    try {
      expect(await store.getCallback('mock', 'evt_unknown_1')).toBeUndefined();
    } finally {
      await store.close();
    }
    // Once the order exists, the channel's retry applies.
    await createPending('ORDERNOTHERE', '1.00');
    const retry = await payJson(['verify', file, '--apply']);
    expect(retry.code).toBe(0);
    expect(retry.json[0].apply.outcome).toBe('applied');
  });

  it('an amount or currency mismatch is reported and changes nothing (exit 1)', async () => {
    const before = await createPending('ORDERMISMAT1', '50.00');
    const amount = save('mismatch.http', callback('payment.succeeded', { orderNo: 'ORDERMISMAT1', amount: '5.00', currency: 'CNY', status: 'succeeded' }));
    const currency = save('mismatch-ccy.http', callback('payment.succeeded', { orderNo: 'ORDERMISMAT1', amount: '50.00', currency: 'USD', status: 'succeeded' }));
    const r = await payJson(['verify', amount, currency, '--apply']);
    expect(r.code).toBe(1);
    expect(r.json[0].apply).toMatchObject({ outcome: 'mismatch', recorded: false });
    expect(r.json[0].apply.message).toMatch(/says 5\.00 CNY; order ORDERMISMAT1 is 50\.00 CNY/);
    expect(r.json[1].apply.message).toMatch(/in USD; order ORDERMISMAT1 is in CNY/);
    const after = await order('ORDERMISMAT1');
    expect(after.status).toBe('pending');
    expect(after.updatedAt).toBe(before.updatedAt);
  });

  it('an invalid callback changes nothing', async () => {
    const before = await createPending('ORDERINVALD1', '8.00');
    const file = save('invalid-apply.http', callback('payment.succeeded', { orderNo: 'ORDERINVALD1', amount: '8.00', currency: 'CNY', status: 'succeeded' }), (b) =>
      replaceOnce(b, '"succeeded"}', '"succeedee"}'),
    );
    const r = await payJson(['verify', file, '--apply']);
    expect(r.code).toBe(1);
    expect(r.json[0].verdict).toBe('invalid');
    expect(r.json[0].apply).toBeUndefined();
    const after = await order('ORDERINVALD1');
    expect(after.status).toBe('pending');
    expect(after.updatedAt).toBe(before.updatedAt);
  });

  it('a failed payment moves a pending order to failed', async () => {
    await createPending('ORDERFAILED1', '9.00');
    const file = save('failed.http', callback('payment.failed', { orderNo: 'ORDERFAILED1', amount: '9.00', currency: 'CNY', status: 'failed' }));
    const r = await payJson(['verify', file, '--apply']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json[0].apply).toMatchObject({ outcome: 'applied', from: 'pending', to: 'failed' });
    expect((await order('ORDERFAILED1')).status).toBe('failed');
  });
});

describe('config errors', () => {
  it('a key that is missing or in the wrong format is a config error (exit 2), never "invalid"', async () => {
    const file = join(dir, 'valid.http');
    writeFileSync(join(dir, 'unset.json'), JSON.stringify({ channels: { mock: { webhookSecret: 'env:PAY_TEST_UNSET_SECRET' } } }));
    const unset = await payJson(['verify', file, '--config', join(dir, 'unset.json')]);
    expect(unset.code).toBe(2);
    expect(unset.json[0]).toMatchObject({ verdict: 'error', reasonCode: 'MISSING_KEY', error: { code: 'CONFIG_ERROR' } });
    expect(unset.json[0].reason).toMatch(/PAY_TEST_UNSET_SECRET, which is not set/);

    writeFileSync(join(dir, 'number.json'), JSON.stringify({ channels: { mock: { webhookSecret: 12345678 } } }));
    const wrong = await pay(['verify', file, '--config', join(dir, 'number.json')]);
    expect(wrong.code).toBe(2);
    expect(wrong.stdout).toMatch(/CONFIG_ERROR: channels\.mock\.webhookSecret is not configured/);
    expect(wrong.stdout).toMatch(/Add the key to channels\.mock/);
  });

  it('an unknown --channel is a usage error', async () => {
    const r = await pay(['verify', join(dir, 'valid.http'), '--channel', 'nosuch']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown channel "nosuch"/);
  });
});
