/**
 * Stripe webhooks from the simulator through `pay verify` (the built binary): valid with the
 * sandbox profile's whsec_ secret, invalid with another, and `--apply` moving nothing twice.
 * (`npm run build` first.)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateId } from '../../../src/core/ids.js';
import { notifyReceiver, sandboxFixture, type NotifyReceiver, type SandboxFixture } from '../../../test/helpers/contract-suite.js';
import { runPayJson } from '../../../test/helpers/cli.js';

describe("pay verify on the Stripe simulator's webhooks", () => {
  let fx: SandboxFixture;
  let rx: NotifyReceiver;
  let dir: string;
  let orderNo: string;
  const pay = (args: string[], env: Record<string, string> = {}) => runPayJson(args, { env: { ...fx.env, ...env }, cwd: fx.dir });

  beforeAll(async () => {
    fx = await sandboxFixture('stripe', { currency: 'USD' });
    rx = await notifyReceiver(fx.module, fx.settings);
    fx.sandbox.setWebhookUrl(rx.url, 'stripe');
    orderNo = generateId('payment');
    expect((await pay(['create', '--channel', 'stripe', '--amount', '30.00', '--currency', 'USD', '--order-no', orderNo])).code).toBe(0);
    await fx.sandbox.pay('stripe', orderNo);
    await fx.sandbox.notificationsIdle();
    dir = join(fx.dir, 'saved');
    mkdirSync(dir);
    rx.received.forEach((r, i) => writeFileSync(join(dir, `hook-${i}.json`), JSON.stringify({ headers: r.request.headers, body: r.request.body.toString('utf8') })));
    expect(rx.received.map((r) => r.verdict.event?.type)).toEqual(['payment_intent.succeeded']);
  });
  afterAll(async () => {
    await rx?.close();
    await fx?.close();
  });

  it('is valid with the sandbox secret, and --apply pays the order once', async () => {
    const r = await pay(['verify', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json[0]).toMatchObject({ valid: true, channel: 'stripe', eventType: 'payment_intent.succeeded', orderNo, amountMinor: 3000, currency: 'USD' });
    expect((await pay(['query', orderNo, '--local'])).json.status).toBe('pending');
    const applied = await pay(['verify', dir, '--apply']);
    expect(applied.code, applied.stderr).toBe(0);
    expect((await pay(['query', orderNo, '--local'])).json.status).toBe('succeeded');
    const again = await pay(['verify', dir, '--apply']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json[0].apply).toMatchObject({ outcome: 'duplicate', recorded: false });
  });

  it('is invalid with any other secret, and expired when checked far later', async () => {
    const config = join(fx.dir, 'other.json');
    writeFileSync(config, JSON.stringify({ channels: { stripe: { webhookSecret: 'whsec_someoneElsesSecret000000' } } }));
    const other = await pay(['verify', dir], { PAY_CONFIG: config, PAY_PROFILE: '' });
    expect(other.code).toBe(1);
    expect(other.json[0]).toMatchObject({ valid: false, reasonCode: 'BAD_SIGNATURE' });
    const late = await pay(['verify', dir, '--at', new Date(Date.now() + 3_600_000).toISOString()]);
    expect(late.code).toBe(1);
    expect(late.json[0]).toMatchObject({ valid: false, reasonCode: 'EXPIRED' });
  });
});
