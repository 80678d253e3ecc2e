/**
 * Stripe faults through the simulator and the real binary (`npm run build` first), beyond the
 * shared fault suite (contract.test.ts: retries, 429, timeouts, secrets): 429 on every attempt, a
 * malformed answer whose paid state is not applied, a rejected key, a declined card and currency
 * edges, each with the right code and exit status and nothing lost.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateId } from '../../../src/core/ids.js';
import { sandboxFixture, type SandboxFixture } from '../../../test/helpers/contract-suite.js';
import { runPayJson } from '../../../test/helpers/cli.js';
import type { StripeSimulator } from '../sandbox/index.js';

describe('stripe faults through the binary', () => {
  let fx: SandboxFixture;
  let orderNo: string;
  let pi: string;
  const pay = (args: string[], env: Record<string, string> = {}) => runPayJson(args, { env: { ...fx.env, PAY_HTTP_TIMEOUT_MS: '2000', ...env }, cwd: fx.dir });
  const queries = () => fx.sandbox.requests('stripe').filter((r) => r.url.startsWith(`/v1/payment_intents/${pi}`));

  beforeAll(async () => {
    fx = await sandboxFixture('stripe', { currency: 'USD' });
    orderNo = generateId('payment');
    const r = await pay(['create', '--channel', 'stripe', '--amount', '20.00', '--currency', 'USD', '--order-no', orderNo]);
    expect(r.code, r.stderr).toBe(0);
    pi = r.json.channelTradeNo;
    expect(pi).toMatch(/^pi_/);
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('429 on every attempt: RATE_LIMITED, exit 3, the order unchanged', async () => {
    fx.sandbox.fault('stripe', { kind: 'status', status: 429, retryAfter: 0, match: '^GET /v1/payment_intents/pi_', times: 0 });
    const r = await pay(['query', orderNo]);
    fx.sandbox.clearFaults('stripe');
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('RATE_LIMITED');
    expect((await pay(['query', orderNo, '--local'])).json.status).toBe('pending');
  });

  it('a malformed answer: CHANNEL_ERROR quoting it, exit 3, the (paid) state not applied', async () => {
    await fx.sandbox.pay('stripe', orderNo);
    fx.sandbox.fault('stripe', { kind: 'malformed', match: '^GET /v1/payment_intents/pi_' });
    const r = await pay(['query', orderNo]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('CHANNEL_ERROR');
    // The message quotes the start of what came back (which names the PaymentIntent).
    expect(queries().at(-1)!.responseExcerpt).toContain(pi);
    expect(r.json.error.message).toContain(pi);
    expect((await pay(['query', orderNo, '--local'])).json.status).toBe('pending');
    // Once the channel answers properly, the payment is picked up.
    const ok = await pay(['query', orderNo]);
    expect(ok.json.status).toBe('succeeded');
  });

  it('a rejected key: AUTHENTICATION_FAILED, exit 3, the key never printed; the order kept for a retry', async () => {
    const badKey = 'sk_test_thisKeyIsNotTheSandboxOne42';
    const config = join(fx.dir, 'bad-key.config.json');
    writeFileSync(config, JSON.stringify({ channels: { stripe: { secretKey: badKey, baseUrl: fx.sandbox.baseUrl('stripe') } } }));
    const no = generateId('payment');
    const r = await pay(['create', '--channel', 'stripe', '--amount', '5.00', '--currency', 'USD', '--order-no', no], { PAY_CONFIG: config, PAY_PROFILE: '' });
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('AUTHENTICATION_FAILED');
    expect(r.stdout + r.stderr).not.toContain(badKey);
    expect(r.stdout + r.stderr).not.toContain('thisKeyIsNotTheSandboxOne');
    expect((await pay(['query', no, '--local'])).json.status).toBe('created');
    // With the right key the same number goes through, once.
    const again = await pay(['create', '--channel', 'stripe', '--amount', '5.00', '--currency', 'USD', '--order-no', no]);
    expect(again.code, again.stderr).toBe(0);
    const sim = fx.sandbox.channels.stripe.simulator as StripeSimulator;
    expect([...sim.paymentIntents.values()].filter((p) => (p.metadata as Record<string, string>).order_no === no)).toHaveLength(1);
  });

  it('a declined test card: the payment is failed, exit 1', async () => {
    const no = generateId('payment');
    const r = await pay(['create', '--channel', 'stripe', '--amount', '7.00', '--currency', 'USD', '--method', 'card', '--extra', 'test_card=chargeDeclined', '--order-no', no]);
    expect(r.code).toBe(1);
    expect(r.json.status).toBe('failed');
    const ok = await pay(['create', '--channel', 'stripe', '--amount', '7.00', '--currency', 'USD', '--method', 'card', '--extra', 'test_card=visa']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.json.status).toBe('succeeded');
  });

  it('currency edges through the CLI: JPY whole units, KWD three decimals in tens, too many decimals refused before any call', async () => {
    const sim = fx.sandbox.channels.stripe.simulator as StripeSimulator;
    const jpy = await pay(['create', '--channel', 'stripe', '--amount', '1500', '--currency', 'JPY', '--extra', 'test_card=visa']);
    expect(jpy.code, jpy.stderr).toBe(0);
    expect(sim.paymentIntents.get(jpy.json.channelTradeNo)!.amount).toBe(1500);
    const kwd = await pay(['create', '--channel', 'stripe', '--amount', '12.340', '--currency', 'KWD']);
    expect(kwd.code, kwd.stderr).toBe(0);
    expect(sim.paymentIntents.get(kwd.json.channelTradeNo)!.amount).toBe(12340);
    const before = fx.sandbox.requests('stripe').length;
    const tooFine = await pay(['create', '--channel', 'stripe', '--amount', '12.5', '--currency', 'JPY']);
    expect(tooFine.code).toBe(2);
    expect(tooFine.json.error.code).toBe('INVALID_REQUEST');
    const notTens = await pay(['create', '--channel', 'stripe', '--amount', '12.345', '--currency', 'KWD']);
    expect(notTens.code).toBe(2);
    expect(notTens.json.error.message).toMatch(/0\.010/);
    expect(fx.sandbox.requests('stripe').length).toBe(before);
  });
});
