/**
 * PayPal webhooks from the simulator through `pay verify` (the built binary): valid with the
 * simulator's certificate from the sandbox profile, invalid with any other certificate, and
 * refused by the CN rule or a foreign CA. (`npm run build` first.)
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateId } from '../../../src/core/ids.js';
import { buildCertificate, randomSerial, type DistinguishedName } from '../../../src/channel/x509.js';
import { notifyReceiver, sandboxFixture, type NotifyReceiver, type SandboxFixture } from '../../../test/helpers/contract-suite.js';
import { runPayJson } from '../../../test/helpers/cli.js';

describe('pay verify on the PayPal simulator\'s webhooks', () => {
  let fx: SandboxFixture;
  let rx: NotifyReceiver;
  let dir: string;
  const pay = (args: string[], env: Record<string, string> = {}) => runPayJson(args, { env: { ...fx.env, ...env }, cwd: fx.dir });

  beforeAll(async () => {
    fx = await sandboxFixture('paypal', { currency: 'USD' });
    rx = await notifyReceiver(fx.module, fx.settings);
    fx.sandbox.setWebhookUrl(rx.url, 'paypal');
    const orderNo = generateId('payment');
    expect((await pay(['create', '--channel', 'paypal', '--amount', '30.00', '--currency', 'USD', '--order-no', orderNo])).code).toBe(0);
    await fx.sandbox.pay('paypal', orderNo);
    expect((await pay(['query', orderNo])).json.status).toBe('succeeded');
    expect((await pay(['refund', orderNo, '--amount', '10.00'])).code).toBe(0);
    await fx.sandbox.notificationsIdle();
    dir = join(fx.dir, 'saved');
    mkdirSync(dir);
    rx.received.forEach((r, i) => writeFileSync(join(dir, `hook-${i}.json`), JSON.stringify({ headers: r.request.headers, body: r.request.body.toString('utf8') })));
    expect(rx.received.length).toBeGreaterThanOrEqual(3);
  });
  afterAll(async () => {
    await rx?.close();
    await fx?.close();
  });

  it('every saved webhook is valid with the simulator\'s certificate', async () => {
    const r = await pay(['verify', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.map((v: { valid: boolean }) => v.valid)).toEqual(rx.received.map(() => true));
    const types = r.json.map((v: { eventType: string }) => v.eventType);
    expect(types).toEqual(expect.arrayContaining(['CHECKOUT.ORDER.APPROVED', 'PAYMENT.CAPTURE.COMPLETED', 'PAYMENT.CAPTURE.REFUNDED']));
  });

  it('fails with any other certificate, a certificate outside the CN rule, or a foreign CA', async () => {
    const now = Date.now();
    const make = (cn: string) => {
      const k = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const dn: DistinguishedName = [['C', 'US'], ['O', 'someone else'], ['CN', cn]];
      return buildCertificate({ subject: dn, issuer: dn, serial: randomSerial(), notBefore: now - 86_400_000, notAfter: now + 86_400_000, publicKey: k.publicKey, signingKey: k.privateKey });
    };
    const write = (name: string, settings: Record<string, unknown>) => {
      const p = join(fx.dir, name);
      writeFileSync(p, JSON.stringify({ channels: { paypal: { webhookId: fx.settings.webhookId, ...settings } } }));
      return p;
    };
    const other = await pay(['verify', dir], { PAY_CONFIG: write('other.json', { certificate: make('messageverificationcerts.sandbox.paypal.com') }), PAY_PROFILE: '' });
    expect(other.code).toBe(1);
    expect(new Set(other.json.map((v: { reasonCode: string }) => v.reasonCode))).toEqual(new Set(['BAD_SIGNATURE']));
    const cn = await pay(['verify', dir], { PAY_CONFIG: write('cn.json', { certificate: make('webhooks.example.com') }), PAY_PROFILE: '' });
    expect(cn.code).toBe(1);
    expect(new Set(cn.json.map((v: { reasonCode: string }) => v.reasonCode))).toEqual(new Set(['UNTRUSTED_CERT']));
    const ca = await pay(['verify', dir], { PAY_CONFIG: write('ca.json', { certificate: fx.settings.certificate, caCertificate: make('Some Other CA') }), PAY_PROFILE: '' });
    expect(ca.code).toBe(1);
    expect(new Set(ca.json.map((v: { reasonCode: string }) => v.reasonCode))).toEqual(new Set(['UNTRUSTED_CERT']));
    const wrongHook = await pay(['verify', dir], { PAY_CONFIG: write('hook.json', { certificate: fx.settings.certificate, webhookId: 'SOMEOTHERHOOK' }), PAY_PROFILE: '' });
    expect(wrongHook.code).toBe(1);
  });
});
