/**
 * The official `stripe` package pointed at our Stripe simulator (host/port/protocol only): it
 * creates, confirms and retrieves PaymentIntents and refunds, paginates, and the webhooks our
 * simulator sends pass `stripe.webhooks.constructEvent`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateId } from '../../../src/core/ids.js';
import { startStripeHarness, type StripeHarness } from './harness.js';

interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

let h: StripeHarness;
let receiver: Server;
const received: Received[] = [];
let sdk: Stripe;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  const port = (receiver.address() as AddressInfo).port;
  h = await startStripeHarness({ webhookUrl: `http://127.0.0.1:${port}/sandbox-hook` });
  const url = new URL(h.baseUrl);
  sdk = new Stripe(h.profile.secretKey as string, { host: url.hostname, port: Number(url.port), protocol: 'http', maxNetworkRetries: 0 });
});

afterAll(async () => {
  await h?.close();
  await new Promise<void>((r) => receiver.close(() => r()));
});

describe('official stripe package against the simulator', () => {
  it('creates, confirms and retrieves a PaymentIntent, then refunds part of it', async () => {
    const orderNo = generateId('payment');
    const pi = await sdk.paymentIntents.create({ amount: 2000, currency: 'usd', allowed_payment_method_types: ['card'], metadata: { order_no: orderNo } });
    expect(pi.id).toMatch(/^pi_/);
    expect(pi.status).toBe('requires_payment_method');
    expect(pi.client_secret).toContain(`${pi.id}_secret_`);
    const confirmed = await sdk.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' });
    expect(confirmed.status).toBe('succeeded');
    const got = await sdk.paymentIntents.retrieve(pi.id, { expand: ['latest_charge'] });
    expect(got.amount_received).toBe(2000);
    expect((got.latest_charge as Stripe.Charge).metadata.order_no).toBe(orderNo);

    const refund = await sdk.refunds.create({ payment_intent: pi.id, amount: 500, metadata: { refund_no: 'R1' } });
    expect(refund).toMatchObject({ object: 'refund', amount: 500, status: 'succeeded', payment_intent: pi.id });
    const again = await sdk.refunds.retrieve(refund.id);
    expect(again.id).toBe(refund.id);
    await expect(sdk.refunds.create({ payment_intent: pi.id, amount: 1501 })).rejects.toMatchObject({ type: 'StripeInvalidRequestError', code: 'amount_too_large' });

    const found = await sdk.paymentIntents.search({ query: `metadata['order_no']:'${orderNo}'` });
    expect(found.data.map((p) => p.id)).toEqual([pi.id]);
  });

  it('surfaces card declines, bad keys and idempotency errors as the SDK expects them', async () => {
    await expect(
      sdk.paymentIntents.create({ amount: 1000, currency: 'usd', allowed_payment_method_types: ['card'], payment_method: 'pm_card_chargeDeclined', confirm: true }),
    ).rejects.toMatchObject({ type: 'StripeCardError', code: 'card_declined', decline_code: 'generic_decline' });
    const url = new URL(h.baseUrl);
    const wrong = new Stripe('sk_test_wrongwrongwrong1234', { host: url.hostname, port: Number(url.port), protocol: 'http', maxNetworkRetries: 0 });
    await expect(wrong.balance.retrieve()).rejects.toMatchObject({ type: 'StripeAuthenticationError', statusCode: 401 });
    const key = `test-${generateId('payment')}`;
    await sdk.paymentIntents.create({ amount: 1000, currency: 'usd' }, { idempotencyKey: key });
    const replay = await sdk.paymentIntents.create({ amount: 1000, currency: 'usd' }, { idempotencyKey: key });
    expect(replay.lastResponse.headers['idempotent-replayed']).toBe('true');
    await expect(sdk.paymentIntents.create({ amount: 1001, currency: 'usd' }, { idempotencyKey: key })).rejects.toMatchObject({ type: 'StripeIdempotencyError' });
  });

  it('auto-paginates balance transactions and lists the balance', async () => {
    for (let i = 0; i < 3; i++) {
      await sdk.paymentIntents.create({ amount: 100 + i, currency: 'usd', payment_method: 'pm_card_visa', confirm: true, allowed_payment_method_types: ['card'] });
    }
    const ids: string[] = [];
    for await (const t of sdk.balanceTransactions.list({ limit: 2, expand: ['data.source'] })) ids.push(t.id);
    expect(ids.length).toBeGreaterThanOrEqual(3);
    expect(new Set(ids).size).toBe(ids.length);
    const balance = await sdk.balance.retrieve();
    expect(balance.pending.find((b) => b.currency === 'usd')!.amount).toBeGreaterThan(0);
  });

  it('signs webhooks that pass constructEvent, for the sandbox URL and for a registered endpoint', async () => {
    const port = (receiver.address() as AddressInfo).port;
    const endpoint = await sdk.webhookEndpoints.create({ url: `http://127.0.0.1:${port}/endpoint`, enabled_events: ['payment_intent.succeeded'] });
    expect(endpoint.secret).toMatch(/^whsec_/);
    received.length = 0;
    const orderNo = generateId('payment');
    await sdk.paymentIntents.create({ amount: 3000, currency: 'eur', allowed_payment_method_types: ['card'], metadata: { order_no: orderNo } });
    await h.sandbox.pay('stripe', orderNo);
    await h.sandbox.notificationsIdle();
    const sandboxHooks = received.filter((r) => r.path === '/sandbox-hook');
    const endpointHooks = received.filter((r) => r.path === '/endpoint');
    const types = sandboxHooks.map((r) => sdk.webhooks.constructEvent(r.body, r.headers['stripe-signature'] as string, h.profile.webhookSecret as string).type);
    // The sandbox URL gets the events that settle something; the endpoint chose its own.
    expect(types).toEqual(['payment_intent.succeeded']);
    expect(endpointHooks).toHaveLength(1);
    const event = sdk.webhooks.constructEvent(endpointHooks[0].body, endpointHooks[0].headers['stripe-signature'] as string, endpoint.secret!);
    expect(event.type).toBe('payment_intent.succeeded');
    expect((event.data.object as Stripe.PaymentIntent).metadata.order_no).toBe(orderNo);
    // The sandbox secret does not verify the endpoint's events, and vice versa.
    expect(() => sdk.webhooks.constructEvent(endpointHooks[0].body, endpointHooks[0].headers['stripe-signature'] as string, h.profile.webhookSecret as string)).toThrow();
    await sdk.webhookEndpoints.del(endpoint.id);
  });
});
