/**
 * PayPal webhook verification offline: the published vector (CRC-32 message, expired certificate
 * needing --at), certificate checks (validity, CN, chain), and the simulator's own webhooks, which
 * verify with its certificate and fail with any other.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawRequest } from '../../../src/channel/contract.js';
import { buildCertificate, randomSerial, type DistinguishedName } from '../../../src/channel/x509.js';
import { isPayError } from '../../../src/core/errors.js';
import { generateId } from '../../../src/core/ids.js';
import { HAS_SHARED, SHARED_DIR, sharedNotice } from '../../../test/helpers/cli.js';
import { buildEvent, paypalCallbacks } from '../callback.js';
import { bodyCrc32, checkCertificate, signTransmission, transmissionMessage } from '../signature.js';
import { startPaypalHarness, type PaypalHarness } from './harness.js';

const DAY = 86_400_000;

function vectorRequest(v: { headers: Record<string, string>; body: string }, body = v.body): RawRequest {
  const headers: Record<string, string> = {};
  for (const [k, val] of Object.entries(v.headers)) headers[k.toLowerCase()] = val;
  return { method: 'POST', target: '/hook', headers, body: Buffer.from(body) };
}

describe('published vector', () => {
  sharedNotice('the PayPal webhook vector');
  const load = () => {
    const v = JSON.parse(readFileSync(join(SHARED_DIR, 'vectors', 'paypal-webhook.json'), 'utf8'));
    return { v, settings: { webhookId: v.webhookId, certificate: readFileSync(join(SHARED_DIR, 'vectors', v.certificate), 'utf8') }, at: Date.parse(v.at) };
  };

  it.skipIf(!HAS_SHARED)('computes the CRC-32 of the note and verifies as of its time', async () => {
    const { v, settings, at } = load();
    expect(bodyCrc32(Buffer.from(v.body))).toBe(3494065244);
    const ok = await paypalCallbacks.verify(vectorRequest(v), settings, { at });
    expect(ok).toMatchObject({ valid: true, scheme: 'paypal-sha256withrsa', dedupKey: 'WH-2MW4820926242972J-6SG447389E205703U' });
    expect(ok.event?.type).toBe('BILLING.PLAN.CREATED');
    expect(ok.reply.status).toBe(200);
  });

  it.skipIf(!HAS_SHARED)('fails on one changed byte, header or webhook id, and on the expired certificate without --at', async () => {
    const { v, settings, at } = load();
    expect(await paypalCallbacks.verify(vectorRequest(v, v.body.replace('"1.0"', '"1.1"')), settings, { at })).toMatchObject({ valid: false, reasonCode: 'BAD_SIGNATURE' });
    const other = vectorRequest(v);
    other.headers['paypal-transmission-id'] = other.headers['paypal-transmission-id'].replace(/.$/, 'x');
    expect(await paypalCallbacks.verify(other, settings, { at })).toMatchObject({ valid: false, reasonCode: 'BAD_SIGNATURE' });
    expect(await paypalCallbacks.verify(vectorRequest(v), { ...settings, webhookId: 'OTHERHOOK' }, { at })).toMatchObject({ valid: false, reasonCode: 'BAD_SIGNATURE' });
    const now = await paypalCallbacks.verify(vectorRequest(v), settings, { at: Date.parse('2026-11-23T00:00:00Z') });
    expect(now).toMatchObject({ valid: false, reasonCode: 'UNTRUSTED_CERT' });
    expect(now.reason).toMatch(/expired on 2019-04-26.*--at/);
  });
});

describe('certificate checks', () => {
  const now = Date.parse('2026-11-23T00:00:00Z');
  const issue = (cn: string, from: number, to: number, issuer?: { dn: DistinguishedName; key: import('node:crypto').KeyObject }) => {
    const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const dn: DistinguishedName = [['C', 'US'], ['O', 'test only'], ['CN', cn]];
    const pem = buildCertificate({ subject: dn, issuer: issuer?.dn ?? dn, serial: randomSerial(), notBefore: from, notAfter: to, publicKey: keys.publicKey, signingKey: issuer?.key ?? keys.privateKey, ca: cn.includes('CA') });
    return { pem, cert: new X509Certificate(pem), dn, key: keys.privateKey };
  };
  const ca = issue('test CA', now - DAY, now + 10 * DAY);
  const otherCa = issue('other CA', now - DAY, now + 10 * DAY);
  const good = issue('messageverificationcerts.sandbox.paypal.com', now - DAY, now + DAY, ca);

  it('checks validity, CN and (when configured) the chain', () => {
    expect(checkCertificate(good.cert, now)).toEqual({ ok: true });
    expect(checkCertificate(good.cert, now, [ca.cert])).toEqual({ ok: true });
    expect(checkCertificate(good.cert, now, [otherCa.cert])).toMatchObject({ ok: false, message: expect.stringMatching(/does not chain/) });
    expect(checkCertificate(good.cert, now + 2 * DAY)).toMatchObject({ ok: false, message: expect.stringMatching(/expired/) });
    expect(checkCertificate(good.cert, now - 2 * DAY)).toMatchObject({ ok: false, message: expect.stringMatching(/not valid before/) });
    const wrongCn = issue('evil.example.com', now - DAY, now + DAY, ca);
    expect(checkCertificate(wrongCn.cert, now)).toMatchObject({ ok: false, message: expect.stringMatching(/CN "evil\.example\.com"/) });
    const lookalike = issue('messageverificationcerts.paypal.com.evil.example', now - DAY, now + DAY, ca);
    expect(checkCertificate(lookalike.cert, now).ok).toBe(false);
    expect(checkCertificate(issue('messageverificationcerts.paypal.com', now - DAY, now + DAY, ca).cert, now).ok).toBe(true);
  });

  it('gives MISSING_KEY for absent settings and CONFIG_ERROR for a certificate that is not one', async () => {
    const body = Buffer.from('{"id":"WH-1","event_type":"X"}');
    const msg = transmissionMessage('t1', '2026-11-23T00:00:00Z', 'HOOK', body);
    // Signed with the CA's key, not the leaf's: only the settings checks matter here.
    const req: RawRequest = { headers: { 'paypal-transmission-id': 't1', 'paypal-transmission-time': '2026-11-23T00:00:00Z', 'paypal-transmission-sig': signTransmission(ca.key, msg), 'paypal-auth-algo': 'SHA256withRSA' }, body };
    expect(await paypalCallbacks.verify(req, { certificate: good.pem }, { at: now })).toMatchObject({ valid: false, reasonCode: 'MISSING_KEY', reason: expect.stringMatching(/webhookId/) });
    expect(await paypalCallbacks.verify(req, { webhookId: 'HOOK' }, { at: now })).toMatchObject({ valid: false, reasonCode: 'MISSING_KEY', reason: expect.stringMatching(/certificate/) });
    try {
      await paypalCallbacks.verify(req, { webhookId: 'HOOK', certificate: 'not a certificate' }, { at: now });
      throw new Error('accepted');
    } catch (err) {
      expect(isPayError(err) && err.code === 'CONFIG_ERROR' && err.exitCode === 2).toBe(true);
    }
    const noSig = { ...req, headers: { ...req.headers } };
    delete noSig.headers['paypal-transmission-sig'];
    expect(await paypalCallbacks.verify(noSig, { webhookId: 'HOOK', certificate: good.pem }, { at: now })).toMatchObject({ reasonCode: 'MALFORMED' });
    const md5 = { ...req, headers: { ...req.headers, 'paypal-auth-algo': 'SHA1withRSA' } };
    expect(await paypalCallbacks.verify(md5, { webhookId: 'HOOK', certificate: good.pem }, { at: now })).toMatchObject({ reasonCode: 'MALFORMED' });
  });

  it('a signer and verifier pair: buildEvent verifies with the matching certificate only', async () => {
    const leafKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const dn: DistinguishedName = [['C', 'US'], ['O', 'test only'], ['CN', 'messageverificationcerts.sandbox.paypal.com']];
    const pem = buildCertificate({ subject: dn, issuer: ca.dn, serial: randomSerial(), notBefore: now - DAY, notAfter: now + DAY, publicKey: leafKeys.publicKey, signingKey: ca.key });
    const raw = buildEvent('PAYMENT.CAPTURE.COMPLETED', 'capture', { id: 'CAP1', status: 'COMPLETED', amount: { currency_code: 'JPY', value: '1500' }, invoice_id: 'P9', custom_id: 'P9', supplementary_data: { related_ids: { order_id: 'ORD9' } } }, 'done', {
      webhookId: 'HOOK9',
      privateKey: leafKeys.privateKey,
      certUrl: 'https://api.sandbox.paypal.com/v1/notifications/certs/CERT-1',
      nowMs: now,
    });
    const v = await paypalCallbacks.verify(raw, { webhookId: 'HOOK9', certificate: pem, caCertificate: ca.pem }, { at: now });
    expect(v.valid).toBe(true);
    expect(v.event).toMatchObject({ kind: 'payment', orderNo: 'P9', channelTradeNo: 'ORD9', amountMinor: 1500, currency: 'JPY', status: 'succeeded', providerStatus: 'COMPLETED' });
    expect(await paypalCallbacks.verify(raw, { webhookId: 'HOOK9', certificate: good.pem }, { at: now })).toMatchObject({ valid: false, reasonCode: 'BAD_SIGNATURE' });
    expect(paypalCallbacks.detect(raw)).toBe(1);
  });
});

describe('webhooks sent by the simulator', () => {
  let h: PaypalHarness;
  let receiver: Server;
  const got: RawRequest[] = [];
  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
        got.push({ method: req.method, target: req.url, headers, body: Buffer.concat(chunks) });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    h = await startPaypalHarness({ webhookUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, sim: { payoutSettleMs: 300 } });
  });
  afterAll(async () => {
    await h?.close();
    await new Promise<void>((r) => receiver.close(() => r()));
  });

  it('verify with the simulator\'s certificate (and CA), and fail with any other certificate', async () => {
    const a = await h.adapter();
    const orderNo = generateId('payment');
    const c = await a.collect({ orderNo, amountMinor: 2000, currency: 'USD', subject: 'x' });
    await h.sandbox.pay('paypal', orderNo);
    await a.queryCollect({ orderNo, channelTradeNo: c.channelTradeNo, amountMinor: 2000, currency: 'USD', createdAt: new Date().toISOString() });
    const refundNo = generateId('refund');
    await a.refund({ orderNo, refundNo, channelTradeNo: c.channelTradeNo, amountMinor: 500, totalMinor: 2000, currency: 'USD', orderCreatedAt: new Date().toISOString() });
    const payoutNo = generateId('payout');
    await a.payout({ orderNo: payoutNo, amountMinor: 300, currency: 'USD', payee: 'vendor@example.com' });
    await new Promise((r) => setTimeout(r, 450));
    await a.balance();
    await h.sandbox.notificationsIdle();
    const settings = { webhookId: h.profile.webhookId, certificate: h.profile.certificate, caCertificate: h.profile.caCertificate };
    const verdicts = await Promise.all(got.map((r) => paypalCallbacks.verify(r, settings, { at: Date.now() })));
    expect(verdicts.every((v) => v.valid)).toBe(true);
    const events = verdicts.map((v) => v.event!);
    const approved = events.find((e) => e.type === 'CHECKOUT.ORDER.APPROVED')!;
    expect(approved).toMatchObject({ orderNo, channelTradeNo: c.channelTradeNo, providerStatus: 'APPROVED', amountMinor: 2000 });
    expect(approved.status).toBeUndefined();
    expect(events.find((e) => e.type === 'PAYMENT.CAPTURE.COMPLETED')).toMatchObject({ kind: 'payment', orderNo, channelTradeNo: c.channelTradeNo, amountMinor: 2000, currency: 'USD', status: 'succeeded' });
    expect(events.find((e) => e.type === 'PAYMENT.CAPTURE.REFUNDED')).toMatchObject({ kind: 'refund', orderNo, refundNo, amountMinor: 500, status: 'succeeded' });
    expect(events.find((e) => e.type === 'PAYMENT.PAYOUTS-ITEM.SUCCEEDED')).toMatchObject({ kind: 'payout', orderNo: payoutNo, amountMinor: 300, status: 'succeeded' });
    // The certificate URL points at the simulator, which serves that very certificate.
    const certUrl = got[0].headers['paypal-cert-url'];
    expect(await (await fetch(certUrl)).text()).toBe(h.profile.certificate);
    // Any other certificate, even a well-formed PayPal-looking one, fails.
    const { v: other } = (() => {
      const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const dn: DistinguishedName = [['C', 'US'], ['O', 'x'], ['CN', 'messageverificationcerts.sandbox.paypal.com']];
      return { v: buildCertificate({ subject: dn, issuer: dn, serial: randomSerial(), notBefore: Date.now() - DAY, notAfter: Date.now() + DAY, publicKey: keys.publicKey, signingKey: keys.privateKey }) };
    })();
    const wrong = await paypalCallbacks.verify(got[0], { webhookId: h.profile.webhookId, certificate: other }, { at: Date.now() });
    expect(wrong).toMatchObject({ valid: false, reasonCode: 'BAD_SIGNATURE' });
    const wrongCa = await paypalCallbacks.verify(got[0], { ...settings, caCertificate: other }, { at: Date.now() });
    expect(wrongCa).toMatchObject({ valid: false, reasonCode: 'UNTRUSTED_CERT' });
  });
});
