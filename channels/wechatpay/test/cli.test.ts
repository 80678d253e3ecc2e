/**
 * WeChat Pay through the real binary against the simulator, with the `sandbox` profile exactly as
 * `pay sandbox` writes it: create -> the payer pays -> the signed notification saved and checked
 * by `pay verify` (valid, --apply, tampered, too old) -> refund -> `pay reconcile --download`
 * matching the day's trade bill. Run `npm run build` first.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, notifyReceiver, sandboxFixture, type NotifyReceiver, type SandboxFixture } from '../../../test/helpers/contract-suite.js';
import { runPayJson } from '../../../test/helpers/cli.js';
import { formatRawHttp } from '../../../src/verify/request-file.js';
import type { RawRequest } from '../../../src/channel/contract.js';

let fx: SandboxFixture;
let rx: NotifyReceiver;
beforeAll(async () => {
  fx = await sandboxFixture('wechatpay');
  rx = await notifyReceiver(fx.module, fx.settings);
});
afterAll(async () => {
  await rx?.close();
  await fx?.close();
});

const pay = (args: string[]) => runPayJson(args, { env: fx.env, cwd: fx.dir });

function save(name: string, r: RawRequest): string {
  const rawHeaders = Object.entries(r.headers).flat();
  const path = join(fx.dir, name);
  writeFileSync(path, formatRawHttp({ method: r.method ?? 'POST', target: r.target ?? '/', rawHeaders, body: r.body }));
  return path;
}

describe('wechatpay end to end through bin/pay.js', () => {
  let orderNo = '';
  let notification: RawRequest;

  it('creates a native order, the payer pays, and the notification verifies offline with the sandbox profile', async () => {
    const c = await pay(['create', '--channel', 'wechatpay', '--amount', '12.34', '--currency', 'CNY', '--subject', '端到端', '--notify-url', rx.url]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.json).toMatchObject({ status: 'pending', amountMinor: 1234, payload: { qrCode: expect.stringMatching(/^weixin:/) } });
    orderNo = c.json.orderNo;
    await fx.sandbox.pay('wechatpay', orderNo);
    notification = (await eventually('the notification', () => rx.received.find((r) => r.verdict.event?.orderNo === orderNo))).request;

    const file = save('notify.http', notification);
    const v = await pay(['verify', file]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.json[0]).toMatchObject({ verdict: 'valid', channel: 'wechatpay', orderNo, amountMinor: 1234, currency: 'CNY' });

    const applied = await pay(['verify', file, '--apply']);
    expect(applied.code, applied.stderr).toBe(0);
    const local = await pay(['query', orderNo, '--local']);
    expect(local.json.status).toBe('succeeded');
  });

  it('a tampered or stale notification is invalid (exit 1) and changes nothing', async () => {
    const body = Buffer.from(notification.body);
    body[body.length - 5] ^= 1;
    const tampered = save('tampered.http', { ...notification, body });
    const t = await pay(['verify', tampered]);
    expect(t.code).toBe(1);
    expect(t.json[0]).toMatchObject({ verdict: 'invalid', reasonCode: 'BAD_SIGNATURE' });
    const stale = await pay(['verify', save('stale.http', notification), '--at', String(Math.floor(Date.now() / 1000) + 600)]);
    expect(stale.code).toBe(1);
    expect(stale.json[0]).toMatchObject({ verdict: 'invalid', reasonCode: 'EXPIRED' });
  });

  it('refunds part, and the day reconciles against the downloaded trade bill', async () => {
    const r = await pay(['refund', orderNo, '--amount', '2.34']);
    expect(r.code, r.stderr).toBe(0);
    const refundNo = r.json.refundNo ?? r.json.refund?.refundNo;
    expect(refundNo).toBeTruthy();
    await eventually('the refund to succeed', async () => {
      const q = await pay(['query', refundNo]);
      return q.json.refunds?.some((x: { refundNo: string; status: string }) => x.refundNo === refundNo && x.status === 'succeeded');
    });
    const date = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
    const rec = await pay(['reconcile', '--channel', 'wechatpay', '--date', date, '--download']);
    expect(rec.code, `${rec.stdout}\n${rec.stderr}`).toBe(0);
    expect(rec.json.summary).toMatchObject({ matched: 2, missingLocal: 0, missingChannel: 0, amountMismatch: 0, statusMismatch: 0, duplicate: 0 });
  });
});
