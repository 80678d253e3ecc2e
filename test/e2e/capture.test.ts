/**
 * `pay create --capture manual` and `pay capture` through the real binary against the Stripe and
 * PayPal simulators (`npm run build` first): authorize, capture in part (the rest released, the
 * order's amount becomes what was captured), refunds bounded by the capture, refusals with exit 2
 * that leave the authorization standing, and channels that do not authorize first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateId } from '../../src/core/ids.js';
import { sandboxFixture, type SandboxFixture } from '../helpers/contract-suite.js';
import { runPay, runPayJson, tempDir } from '../helpers/cli.js';
import type { StripeSimulator } from '../../channels/stripe/sandbox/index.js';
import type { PaypalSimulator } from '../../channels/paypal/sandbox/index.js';

describe('pay capture with Stripe (capture_method=manual)', () => {
  let fx: SandboxFixture;
  const pay = (args: string[]) => runPayJson(args, { env: fx.env, cwd: fx.dir });

  beforeAll(async () => {
    fx = await sandboxFixture('stripe', { currency: 'USD' });
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('authorizes, refuses what it must, captures part, releases the rest and bounds refunds by the capture', async () => {
    const orderNo = generateId('payment');
    const created = await pay(['create', '--channel', 'stripe', '--amount', '50.00', '--currency', 'USD', '--order-no', orderNo, '--capture', 'manual']);
    expect(created.code, created.stderr).toBe(0);
    expect(created.json).toMatchObject({ status: 'pending', payload: { capture: 'manual' } });
    const sim = fx.sandbox.channels.stripe.simulator as StripeSimulator;
    const pi = sim.paymentIntents.get(created.json.channelTradeNo)!;
    expect(pi.capture_method).toBe('manual');

    // Nothing authorized yet: refused, exit 2, the order as it was.
    const early = await pay(['capture', orderNo]);
    expect(early.code).toBe(2);
    expect(early.json.error.code).toBe('INVALID_REQUEST');
    expect(early.json.error.message).toContain('requires_payment_method');

    await fx.sandbox.pay('stripe', orderNo);
    const q = await pay(['query', orderNo]);
    expect(q.json).toMatchObject({ status: 'pending', remote: { providerStatus: 'requires_capture' } });

    // More than authorized, and a malformed amount: refused before any call.
    const calls = fx.sandbox.requests('stripe').length;
    expect((await pay(['capture', orderNo, '--amount', '50.01'])).code).toBe(2);
    expect((await pay(['capture', orderNo, '--amount', '1.234'])).code).toBe(2);
    expect(fx.sandbox.requests('stripe').length).toBe(calls);

    const cap = await pay(['capture', orderNo, '--amount', '30.00']);
    expect(cap.code, cap.stderr).toBe(0);
    expect(cap.json).toMatchObject({
      status: 'succeeded',
      amount: '30.00',
      amountMinor: 3000,
      existing: false,
      capture: { authorized: '50.00', authorizedMinor: 5000, captured: '30.00', capturedMinor: 3000, releasedMinor: 2000 },
      remote: { providerStatus: 'succeeded' },
    });
    expect(pi).toMatchObject({ status: 'succeeded', amount_received: 3000 });

    // The channel and the book agree: no amount warning on query.
    const after = await pay(['query', orderNo]);
    expect(after.json).toMatchObject({ status: 'succeeded', amountMinor: 3000, warnings: [] });
    const again = await pay(['capture', orderNo]);
    expect(again.json).toMatchObject({ existing: true, status: 'succeeded' });
    const human = await runPay(['capture', orderNo, '--no-color'], { env: fx.env, cwd: fx.dir });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('already captured');
    expect(human.stdout).toMatch(/authorized\s+50\.00 USD/);

    expect((await pay(['refund', orderNo, '--amount', '30.01'])).code).toBe(2);
    const refund = await pay(['refund', orderNo]);
    expect(refund.code, refund.stderr).toBe(0);
    expect(refund.json).toMatchObject({ amount: '30.00', order: { status: 'refunded' } });

    const show = await pay(['orders', 'show', orderNo]);
    const captured = show.json.events.find((e: { type: string }) => e.type === 'order.captured');
    expect(captured.data).toMatchObject({ authorizedMinor: 5000, capturedMinor: 3000, releasedMinor: 2000, source: 'channel.capture' });
  });

  it('a capture whose answer was lost: exit 3, the order kept; pay query then takes the captured amount from Stripe', async () => {
    const orderNo = generateId('payment');
    await pay(['create', '--channel', 'stripe', '--amount', '40.00', '--currency', 'USD', '--order-no', orderNo, '--capture', 'manual']);
    await fx.sandbox.pay('stripe', orderNo);
    fx.sandbox.fault('stripe', { kind: 'delay', delayMs: 2500, match: '^POST /v1/payment_intents/pi_[^/]+/capture', times: 0 });
    const lost = await runPayJson(['capture', orderNo, '--amount', '25.00'], { env: { ...fx.env, PAY_HTTP_TIMEOUT_MS: '500' }, cwd: fx.dir });
    fx.sandbox.clearFaults('stripe');
    expect(lost.code).toBe(3);
    expect((await pay(['query', orderNo, '--local'])).json).toMatchObject({ status: 'pending', amountMinor: 4000 });
    const q = await pay(['query', orderNo]);
    expect(q.json).toMatchObject({ status: 'succeeded', amountMinor: 2500, warnings: [] });
    const show = await pay(['orders', 'show', orderNo]);
    expect(show.json.events.find((e: { type: string }) => e.type === 'order.captured').data).toMatchObject({ authorizedMinor: 4000, capturedMinor: 2500, source: 'channel.query' });
  });

  it('an order created with automatic capture is not captured by pay capture (exit 2)', async () => {
    const orderNo = generateId('payment');
    const created = await pay(['create', '--channel', 'stripe', '--amount', '10.00', '--currency', 'USD', '--order-no', orderNo, '--extra', 'test_card=visa']);
    expect(created.json.status).toBe('succeeded');
    const r = await pay(['capture', orderNo]);
    expect(r.code).toBe(2);
    expect(r.json.error.message).toContain('automatic capture');
    expect((await runPay(['create', '--channel', 'stripe', '--amount', '1.00', '--currency', 'USD', '--capture', 'later'], { env: fx.env, cwd: fx.dir })).code).toBe(2);
  });
});

describe('pay capture with PayPal (intent AUTHORIZE)', () => {
  let fx: SandboxFixture;
  const pay = (args: string[]) => runPayJson(args, { env: fx.env, cwd: fx.dir });

  beforeAll(async () => {
    fx = await sandboxFixture('paypal', { currency: 'USD' });
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('creates with intent AUTHORIZE; query authorizes once approved; capture takes part and the authorization is captured', async () => {
    const orderNo = generateId('payment');
    const created = await pay(['create', '--channel', 'paypal', '--amount', '20.00', '--currency', 'USD', '--order-no', orderNo, '--capture', 'manual']);
    expect(created.code, created.stderr).toBe(0);
    expect(created.json).toMatchObject({ status: 'pending', payload: { capture: 'manual', paypalIntent: 'AUTHORIZE' } });

    const early = await pay(['capture', orderNo]);
    expect(early.code).toBe(2);
    expect(early.json.error.message).toContain('not approved');

    await fx.sandbox.pay('paypal', orderNo);
    const q = await pay(['query', orderNo]);
    expect(q.json).toMatchObject({ status: 'pending', remote: { providerStatus: 'COMPLETED/AUTHORIZATION_CREATED' } });
    // The authorization id is kept with the order (a void finds it there).
    const authId = q.json.payload.paypalAuthorizationId as string;
    const sim = fx.sandbox.channels.paypal.simulator as PaypalSimulator;
    expect(sim.authorizations.get(authId)?.status).toBe('CREATED');

    const cap = await pay(['capture', orderNo, '--amount', '15.00']);
    expect(cap.code, cap.stderr).toBe(0);
    expect(cap.json).toMatchObject({ status: 'succeeded', amountMinor: 1500, capture: { authorizedMinor: 2000, capturedMinor: 1500, releasedMinor: 500 } });
    expect(sim.authorizations.get(authId)?.status).toBe('CAPTURED');

    expect((await pay(['refund', orderNo, '--amount', '15.01'])).code).toBe(2);
    const refund = await pay(['refund', orderNo]);
    expect(refund.code, refund.stderr).toBe(0);
    expect(refund.json).toMatchObject({ amount: '15.00', status: 'succeeded' });
  });

  it('capture right after approval authorizes and captures everything in one go', async () => {
    const orderNo = generateId('payment');
    await pay(['create', '--channel', 'paypal', '--amount', '12.00', '--currency', 'USD', '--order-no', orderNo, '--capture', 'manual']);
    await fx.sandbox.pay('paypal', orderNo);
    const cap = await pay(['capture', orderNo]);
    expect(cap.code, cap.stderr).toBe(0);
    expect(cap.json).toMatchObject({ status: 'succeeded', amountMinor: 1200, payload: { paypalAuthorizationId: expect.any(String) } });
  });

  it('a manual order whose create answer was lost stays created on pay query and is sent again with intent AUTHORIZE', async () => {
    const orderNo = generateId('payment');
    fx.sandbox.fault('paypal', { kind: 'reset', match: '^POST /v2/checkout/orders$', times: 0 });
    const lost = await pay(['create', '--channel', 'paypal', '--amount', '9.00', '--currency', 'USD', '--order-no', orderNo, '--capture', 'manual']);
    fx.sandbox.clearFaults('paypal');
    expect(lost.code).toBe(3);
    await pay(['query', orderNo]);
    expect((await pay(['query', orderNo, '--local'])).json).toMatchObject({ status: 'created' });
    const again = await pay(['create', '--channel', 'paypal', '--amount', '9.00', '--currency', 'USD', '--order-no', orderNo, '--capture', 'manual']);
    expect(again.code, again.stderr).toBe(0);
    const sim = fx.sandbox.channels.paypal.simulator as PaypalSimulator;
    expect(sim.orders.get(again.json.channelTradeNo)?.intent).toBe('AUTHORIZE');
    await fx.sandbox.pay('paypal', orderNo);
    expect((await pay(['capture', orderNo])).json).toMatchObject({ status: 'succeeded', amountMinor: 900 });
  });

  it('a declined instrument at authorization fails the order (exit 1)', async () => {
    const orderNo = generateId('payment');
    await pay(['create', '--channel', 'paypal', '--amount', '12.00', '--currency', 'USD', '--order-no', orderNo, '--capture', 'manual']);
    await fx.sandbox.pay('paypal', orderNo, 'failed');
    const cap = await pay(['capture', orderNo]);
    expect(cap.code).toBe(1);
    expect(cap.json).toMatchObject({ status: 'failed', failure: { code: 'DECLINED' } });
  });
});

describe('pay capture elsewhere', () => {
  it('is refused with exit 2 on a channel that does not authorize first, and so is --capture manual', async () => {
    const tmp = tempDir();
    try {
      const env = { PAY_DB: `${tmp.dir}/pay.db`, XDG_CONFIG_HOME: `${tmp.dir}/xdg`, XDG_DATA_HOME: `${tmp.dir}/xdg-data` };
      const manual = await runPayJson(['create', '--channel', 'mock', '--amount', '1.00', '--currency', 'CNY', '--capture', 'manual'], { env });
      expect(manual.code).toBe(2);
      expect(manual.json.error.message).toContain('does not authorize first');
      const created = await runPayJson(['create', '--channel', 'mock', '--amount', '1.00', '--currency', 'CNY'], { env });
      expect(created.code, created.stderr).toBe(0);
      const r = await runPayJson(['capture', created.json.orderNo], { env });
      expect(r.code).toBe(2);
      expect(r.json.error.code).toBe('INVALID_REQUEST');
      expect((await runPayJson(['capture', 'NOSUCHORDER123'], { env })).code).toBe(1);
    } finally {
      tmp.cleanup();
    }
  });
});
