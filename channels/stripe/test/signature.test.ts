/**
 * Stripe webhook signatures: the published vector, and both directions against the official
 * `stripe` package (its test-header generator verifies in pay; pay's signer passes constructEvent).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, SHARED_DIR, sharedNotice } from '../../../test/helpers/cli.js';
import type { RawRequest } from '../../../src/channel/contract.js';
import { buildEvent, stripeCallbacks } from '../callback.js';
import { computeSignature, signHeader, verifyHeader } from '../signature.js';

const sdk = new Stripe('sk_test_unused_for_webhooks_000000');
const SECRET = `whsec_${'k'.repeat(32)}`;

function request(body: string | Buffer, header?: string): RawRequest {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (header !== undefined) headers['stripe-signature'] = header;
  return { method: 'POST', target: '/hook', headers, body: Buffer.isBuffer(body) ? body : Buffer.from(body) };
}

describe('published vector', () => {
  sharedNotice('the Stripe webhook vector');
  it.skipIf(!HAS_SHARED)('verifies as of its time and fails on a one-byte change', async () => {
    const v = JSON.parse(readFileSync(join(SHARED_DIR, 'vectors', 'stripe-webhook.json'), 'utf8'));
    const at = v.at * 1000;
    const ok = await stripeCallbacks.verify(request(v.body, v.headers['Stripe-Signature']), { webhookSecret: v.webhookSecret }, { at });
    expect(ok.valid).toBe(true);
    expect(ok.dedupKey).toBe('evt_test_webhook');
    const tampered = await stripeCallbacks.verify(request(v.body.replace('evt_test', 'evt_tesT'), v.headers['Stripe-Signature']), { webhookSecret: v.webhookSecret }, { at });
    expect(tampered).toMatchObject({ valid: false, reasonCode: 'BAD_SIGNATURE' });
    const late = await stripeCallbacks.verify(request(v.body, v.headers['Stripe-Signature']), { webhookSecret: v.webhookSecret }, { at: at + 301_000 });
    expect(late).toMatchObject({ valid: false, reasonCode: 'EXPIRED' });
    const wide = await stripeCallbacks.verify(request(v.body, v.headers['Stripe-Signature']), { webhookSecret: v.webhookSecret }, { at: at + 301_000, toleranceSec: 400 });
    expect(wide.valid).toBe(true);
  });
});

describe('against the official stripe package', () => {
  const body = JSON.stringify({ id: 'evt_1', object: 'event', type: 'payment_intent.succeeded', created: 1_800_000_000, data: { object: { id: 'pi_1', object: 'payment_intent', amount: 1234, currency: 'usd', status: 'succeeded', metadata: { order_no: 'P1' } } } });

  it('accepts headers from stripe.webhooks.generateTestHeaderString', async () => {
    const ts = Math.floor(Date.now() / 1000);
    const header = sdk.webhooks.generateTestHeaderString({ payload: body, secret: SECRET, timestamp: ts });
    const v = await stripeCallbacks.verify(request(body, header), { webhookSecret: SECRET }, { at: Date.now() });
    expect(v.valid).toBe(true);
    expect(v.event).toMatchObject({ type: 'payment_intent.succeeded', kind: 'payment', orderNo: 'P1', channelTradeNo: 'pi_1', amountMinor: 1234, currency: 'USD', status: 'succeeded' });
    expect(v.reply.status).toBe(200);
  });

  it("pay's signer is accepted by stripe.webhooks.constructEvent, a wrong secret is not", () => {
    const ts = Math.floor(Date.now() / 1000);
    const header = signHeader(SECRET, body, ts);
    const event = sdk.webhooks.constructEvent(body, header, SECRET);
    expect(event.id).toBe('evt_1');
    expect(() => sdk.webhooks.constructEvent(body, signHeader(`${SECRET}x`, body, ts), SECRET)).toThrow(/No signatures found/);
    // Same HMAC as the SDK's crypto provider computes.
    expect(computeSignature(SECRET, ts, body)).toBe(sdk.webhooks.generateTestHeaderString({ payload: body, secret: SECRET, timestamp: ts }).split('v1=')[1]);
  });

  it('a whole simulator-style event built by buildEvent passes constructEvent', () => {
    const raw = buildEvent(SECRET, 'refund.created', { id: 're_1', object: 'refund', amount: 5, currency: 'jpy', status: 'succeeded', metadata: { order_no: 'P2', refund_no: 'R2' } }, { nowMs: Date.now(), apiVersion: '2026-10-28.endive' });
    const event = sdk.webhooks.constructEvent(raw.body, raw.headers['stripe-signature'], SECRET);
    expect(event.type).toBe('refund.created');
  });
});

describe('verification rules', () => {
  const body = Buffer.from('{"id":"evt_2","object":"event","type":"payout.paid","created":1800000000,"data":{"object":{"id":"po_1","object":"payout","amount":500,"currency":"usd","status":"paid","metadata":{"order_no":"T1"}}}}');
  const at = 1_800_000_000_000;

  it('any matching v1 passes (rotation); v0 and unknown schemes are ignored', () => {
    const header = `t=1800000000,v0=${'0'.repeat(64)},v1=${computeSignature('whsec_old', 1_800_000_000, body)},v1=${computeSignature(SECRET, 1_800_000_000, body)}`;
    expect(verifyHeader(header, body, SECRET, at).ok).toBe(true);
    expect(verifyHeader(header, body, 'whsec_old', at).ok).toBe(true);
    const onlyV0 = `t=1800000000,v0=${computeSignature(SECRET, 1_800_000_000, body)}`;
    expect(verifyHeader(onlyV0, body, SECRET, at)).toMatchObject({ ok: false, reason: 'MALFORMED' });
  });

  it('several configured secrets: whichever signed is accepted', async () => {
    const header = signHeader('whsec_new_secret', body, 1_800_000_000);
    const v = await stripeCallbacks.verify(request(body, header), { webhookSecret: `${SECRET}, whsec_new_secret` }, { at });
    expect(v.valid).toBe(true);
    expect(v.event).toMatchObject({ kind: 'payout', orderNo: 'T1', status: 'succeeded' });
  });

  it('names the reason: missing key, malformed header, bad signature, expired, not JSON', async () => {
    const good = signHeader(SECRET, body, 1_800_000_000);
    expect(await stripeCallbacks.verify(request(body, good), {}, { at })).toMatchObject({ valid: false, reasonCode: 'MISSING_KEY' });
    expect(await stripeCallbacks.verify(request(body), { webhookSecret: SECRET }, { at })).toMatchObject({ valid: false, reasonCode: 'MALFORMED' });
    expect(await stripeCallbacks.verify(request(body, 't=abc,v1=zz'), { webhookSecret: SECRET }, { at })).toMatchObject({ valid: false, reasonCode: 'MALFORMED' });
    expect(await stripeCallbacks.verify(request(body, good.replace(/.$/, (c) => (c === '0' ? '1' : '0'))), { webhookSecret: SECRET }, { at })).toMatchObject({ valid: false, reasonCode: 'BAD_SIGNATURE' });
    const expired = await stripeCallbacks.verify(request(body, good), { webhookSecret: SECRET }, { at: at + 3600_000 });
    expect(expired).toMatchObject({ valid: false, reasonCode: 'EXPIRED' });
    expect(expired.reason).toMatch(/--at/);
    const notJson = Buffer.from('not json');
    expect(await stripeCallbacks.verify(request(notJson, signHeader(SECRET, notJson, 1_800_000_000)), { webhookSecret: SECRET }, { at })).toMatchObject({ valid: false, reasonCode: 'MALFORMED' });
  });

  it('never puts the secret in a verdict', async () => {
    const v = await stripeCallbacks.verify(request(body, signHeader('whsec_other', body, 1_800_000_000)), { webhookSecret: SECRET }, { at });
    expect(JSON.stringify(v)).not.toContain(SECRET);
  });

  it('detects Stripe by its header, and weakly by an event body', () => {
    expect(stripeCallbacks.detect(request(body, 't=1,v1=x'))).toBe(1);
    expect(stripeCallbacks.detect(request(body))).toBe(0.5);
    expect(stripeCallbacks.detect(request('{"a":1}'))).toBe(0);
  });
});
