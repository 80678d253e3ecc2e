/**
 * PayPal faults through the simulator and the real binary (`npm run build` first), beyond the
 * shared fault suite (contract.test.ts: retries, 429, timeouts, secrets): a malformed answer whose
 * paid state is not applied, rejected credentials, each with the right code and exit status and
 * nothing lost; and the whole flow from the CLI (create -> payer approves -> query captures ->
 * refund), with currency edges.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateId } from '../../../src/core/ids.js';
import { sandboxFixture, type SandboxFixture } from '../../../test/helpers/contract-suite.js';
import { runPayJson } from '../../../test/helpers/cli.js';
import type { PaypalSimulator } from '../sandbox/index.js';

describe('paypal faults through the binary', () => {
  let fx: SandboxFixture;
  let orderNo: string;
  let id: string;
  const pay = (args: string[], env: Record<string, string> = {}) => runPayJson(args, { env: { ...fx.env, PAY_HTTP_TIMEOUT_MS: '2000', ...env }, cwd: fx.dir });
  const queries = () => fx.sandbox.requests('paypal').filter((r) => r.url === `/v2/checkout/orders/${id}`);

  beforeAll(async () => {
    fx = await sandboxFixture('paypal', { currency: 'USD' });
    orderNo = generateId('payment');
    const r = await pay(['create', '--channel', 'paypal', '--amount', '20.00', '--currency', 'USD', '--order-no', orderNo]);
    expect(r.code, r.stderr).toBe(0);
    id = r.json.channelTradeNo;
    expect(r.json.payload?.redirectUrl ?? '').toContain(id);
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('a malformed answer: CHANNEL_ERROR quoting it, exit 3, nothing captured or applied', async () => {
    await fx.sandbox.pay('paypal', orderNo);
    fx.sandbox.fault('paypal', { kind: 'malformed', match: '^GET /v2/checkout/orders/' });
    const r = await pay(['query', orderNo]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('CHANNEL_ERROR');
    expect(queries().at(-1)!.responseExcerpt).toContain(id);
    expect(r.json.error.message).toContain(id);
    const sim = fx.sandbox.channels.paypal.simulator as PaypalSimulator;
    expect(sim.orders.get(id)!.status).toBe('APPROVED');
    expect((await pay(['query', orderNo, '--local'])).json.status).toBe('pending');
    const ok = await pay(['query', orderNo]);
    expect(ok.json.status).toBe('succeeded');
    const refund = await pay(['refund', orderNo, '--amount', '5.00']);
    expect(refund.code, refund.stderr).toBe(0);
    expect(refund.json.status).toBe('succeeded');
  });

  it('rejected credentials: AUTHENTICATION_FAILED, exit 3, the secret never printed; the order kept for a retry', async () => {
    const badSecret = 'EthisIsNotTheSandboxSecret42';
    const config = join(fx.dir, 'bad-secret.config.json');
    writeFileSync(config, JSON.stringify({ channels: { paypal: { clientId: fx.settings.clientId, clientSecret: badSecret, baseUrl: fx.sandbox.baseUrl('paypal') } } }));
    const no = generateId('payment');
    const r = await pay(['create', '--channel', 'paypal', '--amount', '5.00', '--currency', 'USD', '--order-no', no], { PAY_CONFIG: config, PAY_PROFILE: '' });
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('AUTHENTICATION_FAILED');
    expect(r.json.error.providerCode).toBe('invalid_client');
    expect(r.stdout + r.stderr).not.toContain(badSecret);
    expect((await pay(['query', no, '--local'])).json.status).toBe('created');
    const again = await pay(['create', '--channel', 'paypal', '--amount', '5.00', '--currency', 'USD', '--order-no', no]);
    expect(again.code, again.stderr).toBe(0);
    const sim = fx.sandbox.channels.paypal.simulator as PaypalSimulator;
    expect([...sim.orders.values()].filter((o) => (o.purchase_units as Record<string, unknown>[])[0].invoice_id === no)).toHaveLength(1);
  });

  it('currency edges: JPY and TWD without decimals, KWD refused, more decimals than the currency refused, before any call', async () => {
    const sim = fx.sandbox.channels.paypal.simulator as PaypalSimulator;
    const jpy = await pay(['create', '--channel', 'paypal', '--amount', '1500', '--currency', 'JPY']);
    expect(jpy.code, jpy.stderr).toBe(0);
    expect((sim.orders.get(jpy.json.channelTradeNo)!.purchase_units as Record<string, unknown>[])[0].amount).toEqual({ currency_code: 'JPY', value: '1500' });
    const before = fx.sandbox.requests('paypal').length;
    const twd = await pay(['create', '--channel', 'paypal', '--amount', '100.50', '--currency', 'TWD']);
    expect(twd.code).toBe(2);
    expect(twd.json.error.message).toMatch(/without decimals/);
    const kwd = await pay(['create', '--channel', 'paypal', '--amount', '1.000', '--currency', 'KWD']);
    expect(kwd.code).toBe(2);
    const fine = await pay(['create', '--channel', 'paypal', '--amount', '1.005', '--currency', 'USD']);
    expect(fine.code).toBe(2);
    expect(fx.sandbox.requests('paypal').length).toBe(before);
  });
});
