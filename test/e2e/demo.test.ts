/**
 * `pay demo` from a clean database: every channel's lifecycle succeeds, through the real binary,
 * and the orders stay behind for `pay orders list`.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPayJson, tempDir } from '../helpers/cli.js';

let tmp: ReturnType<typeof tempDir>;
let env: Record<string, string>;
beforeAll(() => {
  tmp = tempDir('pay-demo-');
  env = { PAY_DB: join(tmp.dir, 'pay.db'), XDG_CONFIG_HOME: join(tmp.dir, 'xdg'), XDG_DATA_HOME: join(tmp.dir, 'xdg-data') };
});
afterAll(() => tmp.cleanup());

describe('pay demo', () => {
  it('runs every channel through create, pay, callback, query, refund and reconcile', async () => {
    const r = await runPayJson(['demo'], { env, timeoutMs: 120_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json.ok).toBe(true);
    const ids = r.json.channels.map((c: { channel: string }) => c.channel);
    expect(ids).toEqual(['mock', 'alipay', 'wechatpay', 'unionpay', 'stripe', 'paypal']);
    for (const c of r.json.channels) {
      expect(c.ok, `${c.channel}: ${JSON.stringify(c.error)}`).toBe(true);
      for (const step of ['create', 'pay', 'callback', 'query', 'refund', 'reconcile']) expect(c.steps[step], `${c.channel} ${step}`).toMatchObject({ ok: true });
    }
    // Under a minute, even on a busy machine.
    expect(r.json.durationMs).toBeLessThan(60_000);

    const list = await runPayJson(['orders', 'list'], { env });
    expect(list.json.total).toBe(6);
    for (const o of list.json.orders) expect(o).toMatchObject({ status: 'succeeded' });
    expect(list.json.orders.every((o: { refundedMinor: number }) => o.refundedMinor > 0)).toBe(true);
    const history = await runPayJson(['reconcile', 'history'], { env });
    expect(history.json.runs.length).toBe(6);
  });
});
