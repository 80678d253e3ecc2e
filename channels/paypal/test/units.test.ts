/**
 * Small pure parts of the PayPal channel: currency rules, config validation, error mapping,
 * recipient types, the capability list.
 */
import { describe, expect, it } from 'vitest';
import { isPayError } from '../../../src/core/errors.js';
import { recipientType } from '../wire.js';
import { mapPaypalError } from '../client.js';
import { validatePaypalConfig } from '../config.js';
import { fromPaypalValue, paypalExponentOverrides, toPaypalValue } from '../currency.js';
import paypal from '../index.js';

describe('currency rules at the PayPal edge', () => {
  it.each([
    ['USD', 1234, '12.34'],
    ['JPY', 1500, '1500'],
    ['HUF', 2500, '2500'],
    ['TWD', 30000, '300'],
    ['EUR', 5, '0.05'],
  ])('%s %i minor <-> "%s"', (currency, minor, wire) => {
    expect(toPaypalValue(minor, currency)).toBe(wire);
    expect(fromPaypalValue(wire, currency)).toBe(minor);
  });

  it('refuses unsupported currencies and fractions PayPal cannot express', () => {
    expect(() => toPaypalValue(12340, 'KWD')).toThrow(/does not support KWD/);
    expect(() => toPaypalValue(10050, 'TWD')).toThrow(/without decimals/);
    expect(() => fromPaypalValue('12.5', 'JPY')).toThrow(/decimal place/);
    expect(() => fromPaypalValue('1,000.00', 'USD')).toThrow(/not a decimal/);
    expect(paypalExponentOverrides()).toMatchObject({ TWD: 0 });
    expect(paypal.description.exponentOverrides?.TWD).toBe(0);
  });
});

describe('config validation', () => {
  const err = (settings: Record<string, unknown>) => {
    try {
      validatePaypalConfig(settings);
    } catch (e) {
      if (isPayError(e)) return e;
    }
    throw new Error('accepted');
  };
  it('names the missing or malformed field, never its value', () => {
    expect(err({}).message).toBe('channels.paypal.clientId is missing');
    expect(err({ clientId: 'AbCdEfGh1234' }).message).toBe('channels.paypal.clientSecret is missing');
    const bad = err({ clientId: 'AbCdEfGh1234', clientSecret: 'has spaces in it!' });
    expect(bad.message).toBe('channels.paypal.clientSecret is not a PayPal client secret');
    expect(bad.code).toBe('CONFIG_ERROR');
    expect(err({ clientId: 'AbCdEfGh1234', clientSecret: 'EsecretSecret', captureOnQuery: 'yes' }).message).toMatch(/captureOnQuery/);
  });
  it('applies defaults', () => {
    expect(validatePaypalConfig({ clientId: 'AbCdEfGh1234', clientSecret: 'EsecretSecret' })).toMatchObject({ baseUrl: 'https://api-m.paypal.com', timeZone: 'UTC', captureOnQuery: true });
  });
  it('declares capabilities that match the adapter, and marks the secret', async () => {
    const { PaypalAdapter } = await import('../adapter.js');
    for (const c of paypal.description.capabilities) expect(typeof (PaypalAdapter.prototype as unknown as Record<string, unknown>)[c], c).toBe('function');
    expect(paypal.description.capabilities).toContain('closeCollect');
    expect(paypal.description.config.find((f) => f.key === 'clientSecret')).toMatchObject({ secret: true, required: true });
  });
});

describe('error mapping', () => {
  const h = { headers: { 'paypal-debug-id': 'dbg1' } };
  it.each([
    [401, { error: 'invalid_client', error_description: 'Client Authentication failed' }, 'AUTHENTICATION_FAILED', 'invalid_client'],
    [401, { name: 'AUTHENTICATION_FAILURE', message: 'Authentication failed' }, 'AUTHENTICATION_FAILED', 'AUTHENTICATION_FAILURE'],
    [429, { name: 'RATE_LIMIT_REACHED' }, 'RATE_LIMITED', 'RATE_LIMIT_REACHED'],
    [404, { name: 'RESOURCE_NOT_FOUND', details: [{ issue: 'INVALID_RESOURCE_ID' }] }, 'ORDER_NOT_FOUND', 'INVALID_RESOURCE_ID'],
    [422, { name: 'UNPROCESSABLE_ENTITY', details: [{ issue: 'INSTRUMENT_DECLINED' }] }, 'INVALID_REQUEST', 'INSTRUMENT_DECLINED'],
    [422, { name: 'INSUFFICIENT_FUNDS' }, 'INSUFFICIENT_BALANCE', 'INSUFFICIENT_FUNDS'],
    [400, { name: 'USER_BUSINESS_ERROR', details: [{ issue: 'Batch with given sender_batch_id already exists' }] }, 'INVALID_REQUEST', 'Batch with given sender_batch_id already exists'],
    [500, { name: 'INTERNAL_SERVER_ERROR' }, 'SYSTEM_ERROR', 'INTERNAL_SERVER_ERROR'],
  ] as const)('HTTP %i %j -> %s', (status, body, code, providerCode) => {
    const e = mapPaypalError(status, body as Parameters<typeof mapPaypalError>[1], h, 'POST /v2/x');
    expect(e.code).toBe(code);
    expect(e.providerCode).toBe(providerCode);
    expect(e.requestId).toBe('dbg1');
  });
});

describe('payout recipients', () => {
  it('tells emails, phones and PayPal ids apart', () => {
    expect(recipientType('a@b.example')).toBe('EMAIL');
    expect(recipientType('+14155550100')).toBe('PHONE');
    expect(recipientType('QXJ4RD8HE7U7A')).toBe('PAYPAL_ID');
  });
});
