/**
 * Small pure parts of the Stripe channel: form encoding, currency rules (table-driven) and config
 * validation. (The streaming CSV parser it shares with PayPal is tested in test/unit/csv.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { isPayError } from '../../../src/core/errors.js';
import { validateStripeConfig } from '../config.js';
import { fromStripeAmount, stripeExponentOverrides, toStripeAmount } from '../currency.js';
import { decodeForm, encodeForm } from '../form.js';
import { mapStripeError, StripeClient } from '../client.js';
import stripe from '../index.js';

describe('form encoding', () => {
  it('encodes nested keys the way Stripe reads them', () => {
    const body = encodeForm({ amount: 1234, currency: 'usd', metadata: { order_no: 'P1', note: 'a&b=c' }, payment_method_types: ['card'], expand: ['latest_charge'], confirm: true, skip: undefined });
    expect(body).toBe('amount=1234&currency=usd&metadata[order_no]=P1&metadata[note]=a%26b%3Dc&payment_method_types[]=card&expand[]=latest_charge&confirm=true');
  });

  it('decodes every form Stripe clients send ([], [0], encoded brackets, +)', () => {
    expect(decodeForm('payment_method_types[0]=card&payment_method_types[1]=link&metadata%5Border_no%5D=P1&description=two+mugs&expand[]=a&expand[]=b&created[gte]=5')).toEqual({
      payment_method_types: ['card', 'link'],
      metadata: { order_no: 'P1' },
      description: 'two mugs',
      expand: ['a', 'b'],
      created: { gte: '5' },
    });
    expect(decodeForm(encodeForm({ items: [{ price: 'x', quantity: 2 }], metadata: { k: 'v' } }))).toEqual({ items: [{ price: 'x', quantity: '2' }], metadata: { k: 'v' } });
    expect(() => decodeForm('a=1&a[b]=2')).toThrow(/Conflicting/);
  });
});

describe('currency rules at the Stripe edge', () => {
  it.each([
    ['USD', 1234, 1234],
    ['JPY', 1500, 1500],
    ['KRW', 25000, 25000],
    ['KWD', 12340, 12340],
    ['BHD', 500, 500],
    ['HUF', 2500, 250000],
    ['ISK', 990, 99000],
    ['TWD', 10050, 10050],
    ['IDR', 15000, 1500000],
  ])('%s %i minor -> %i Stripe units and back', (currency, minor, wire) => {
    expect(toStripeAmount(minor, currency)).toBe(wire);
    expect(fromStripeAmount(wire, currency)).toBe(minor);
  });

  it('refuses three-decimal amounts not in tens, fractional HUF/ISK/TWD payouts, and unrepresentable answers', () => {
    expect(() => toStripeAmount(12345, 'KWD')).toThrow(/multiples of 0\.010/);
    expect(() => toStripeAmount(10050, 'TWD', { payout: true })).toThrow(/whole units/);
    expect(toStripeAmount(10000, 'TWD', { payout: true })).toBe(10000);
    expect(() => fromStripeAmount(12345, 'HUF')).toThrow(/fraction/);
    expect(() => fromStripeAmount(1.5, 'USD')).toThrow(/integer/);
  });

  it('publishes where Stripe disagrees with ICU as the description\'s overrides', () => {
    const o = stripeExponentOverrides();
    expect(o.HUF).toBe(2);
    expect(o.ISK).toBe(2);
    expect(o.JPY).toBeUndefined();
    expect(o.USD).toBeUndefined();
    expect(stripe.description.exponentOverrides?.HUF).toBe(2);
  });
});

describe('config validation', () => {
  const err = (settings: Record<string, unknown>) => {
    try {
      validateStripeConfig(settings);
    } catch (e) {
      if (isPayError(e)) return e;
    }
    throw new Error('accepted');
  };
  it('names the missing or malformed field, never its value', () => {
    expect(err({}).message).toBe('channels.stripe.secretKey is missing');
    expect(err({}).code).toBe('CONFIG_ERROR');
    const pk = err({ secretKey: 'pk_test_abcdefghijklmnop' });
    expect(pk.message).toMatch(/secretKey is not a Stripe secret key/);
    expect(pk.message).not.toContain('abcdefghijklmnop');
    expect(err({ secretKey: 'sk_test_abcdefghijkl', baseUrl: 'ftp://x' }).message).toMatch(/baseUrl must be an http/);
    expect(err({ secretKey: 'sk_test_abcdefghijkl', timeZone: 'Mars/Olympus' }).message).toMatch(/timeZone is not a known/);
    expect(err({ secretKey: 'sk_test_abcdefghijkl', apiVersion: 'latest' }).message).toMatch(/apiVersion/);
  });
  it('applies defaults', () => {
    expect(validateStripeConfig({ secretKey: 'sk_live_abcdefghijkl' })).toMatchObject({ baseUrl: 'https://api.stripe.com', apiVersion: '2026-10-28.endive', timeZone: 'UTC' });
  });
  it('declares capabilities that match the adapter', async () => {
    const { StripeAdapter } = await import('../adapter.js');
    for (const c of stripe.description.capabilities) expect(typeof (StripeAdapter.prototype as unknown as Record<string, unknown>)[c], c).toBe('function');
    expect(stripe.description.config.find((f) => f.key === 'secretKey')).toMatchObject({ secret: true, required: true });
    expect(stripe.description.config.find((f) => f.key === 'webhookSecret')?.secret).toBe(true);
  });
});

describe('error mapping', () => {
  const h = { headers: { 'request-id': 'req_1', 'retry-after': '2' } };
  it.each([
    [401, { type: 'invalid_request_error', message: 'Invalid API Key provided: sk_test_***' }, 'AUTHENTICATION_FAILED', 3],
    [401, { type: 'authentication_error' }, 'AUTHENTICATION_FAILED', 3],
    [429, { type: 'invalid_request_error', code: 'rate_limit' }, 'RATE_LIMITED', 3],
    [400, { type: 'idempotency_error' }, 'INVALID_REQUEST', 2],
    [400, { type: 'invalid_request_error', code: 'parameter_missing' }, 'INVALID_REQUEST', 2],
    [404, { type: 'invalid_request_error', code: 'resource_missing' }, 'ORDER_NOT_FOUND', 1],
    [400, { type: 'invalid_request_error', code: 'balance_insufficient' }, 'INSUFFICIENT_BALANCE', 1],
    [500, { type: 'api_error' }, 'SYSTEM_ERROR', 3],
    [402, { type: 'card_error', code: 'card_declined' }, 'INVALID_REQUEST', 2],
  ] as const)('HTTP %i %j -> %s', (status, body, code, exit) => {
    const e = mapStripeError(status, body, h, 'POST /v1/x');
    expect(e.code).toBe(code);
    expect(e.exitCode).toBe(exit);
    expect(e.providerCode).toBe((body as { code?: string }).code ?? body.type);
    expect(e.requestId).toBe('req_1');
  });
});

describe('report file downloads', () => {
  it('never sends the key to a host other than the API or files.stripe.com', async () => {
    let called = 0;
    const client = new StripeClient(validateStripeConfig({ secretKey: 'sk_test_abcdefghijkl', baseUrl: 'http://127.0.0.1:9' }), {
      http: async () => {
        called++;
        throw new Error('must not be called');
      },
      record: () => {},
    });
    await expect(client.fetchFile('https://evil.example/v1/files/file_1/contents', 'downloadBill')).rejects.toMatchObject({ code: 'CHANNEL_ERROR' });
    await expect(client.fetchFile('http://127.0.0.1:10/v1/files/file_1/contents', 'downloadBill')).rejects.toMatchObject({ code: 'CHANNEL_ERROR' });
    expect(called).toBe(0);
  });
});
