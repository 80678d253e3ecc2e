/**
 * `pay demo`: the guided tour. Runs a whole lifecycle per channel through the same command
 * functions a user calls (create, query, callback verification, refund, payout, balance, bill),
 * on local channels that need no credentials, and prints one summary table. The orders stay in
 * the database for `pay orders list`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PayError } from '../core/errors.js';
import { formatAmount } from '../core/money.js';
import type { Presentation } from '../output/render.js';
import { statusCell } from '../output/views.js';
import type { Context } from './context.js';

/** One step of the tour. */
export interface DemoStep {
  channel: string;
  step: string;
  ok: boolean;
  detail: string;
}

export interface DemoResult {
  dbPath: string;
  steps: DemoStep[];
  ok: boolean;
  orderNos: string[];
}

/** Mock settings for the tour: quick settlement, no latency. */
const MOCK_DEMO = { settleAfterMs: 300, latencyMs: 0, successRate: 1 };

async function mockTour(ctx: Context, steps: DemoStep[], orderNos: string[]): Promise<void> {
  const channel = 'mock';
  const tour: Context = { ...ctx, channel: (ref, o) => ctx.channel(ref, { ...MOCK_DEMO, ...(o ?? {}) }) };
  const step = (name: string, ok: boolean, detail: string) => {
    steps.push({ channel, step: name, ok, detail });
    ctx.notice(`${ok ? '✓' : '✗'} ${channel} ${name}: ${detail}`);
    if (!ok) throw new PayError('SYSTEM_ERROR', `demo step "${name}" failed: ${detail}`);
  };
  const { create } = await import('./create.js');
  const { query } = await import('./query.js');
  const { refund } = await import('./refund.js');
  const { payout } = await import('./payout.js');
  const { balance } = await import('./balance.js');

  const created = await create({ channel, amount: '12.34', currency: 'CNY', subject: 'pay demo: coffee beans' }, tour);
  const orderNo = created.order.orderNo;
  orderNos.push(orderNo);
  step('create', created.order.status === 'pending', `${orderNo} 12.34 CNY is ${created.order.status}`);

  await sleep(MOCK_DEMO.settleAfterMs + 50);
  const paid = await query(orderNo, {}, tour);
  step('query', paid.order.status === 'succeeded', `the payer paid: ${paid.order.status}`);

  const ch = await tour.channel(channel);
  const adapter = ch.adapter as { buildCallback?: (orderNo: string) => import('../channel/contract.js').RawRequest };
  if (adapter.buildCallback && ch.module.callback) {
    const request = adapter.buildCallback(orderNo);
    const verdict = await ch.module.callback.verify(request, ch.config, { at: ctx.clock() });
    step('callback', verdict.valid && verdict.event?.orderNo === orderNo, `signed notification ${verdict.valid ? 'verified' : `rejected: ${verdict.reason}`} (${verdict.scheme})`);
  }

  const r1 = await refund(orderNo, { amount: '2.34', reason: 'demo: partial refund' }, tour);
  step('refund', r1.refund.status === 'pending' || r1.refund.status === 'succeeded', `${r1.refund.refundNo} 2.34 CNY is ${r1.refund.status}`);
  await sleep(MOCK_DEMO.settleAfterMs + 50);
  const afterRefund = await query(r1.refund.refundNo, {}, tour);
  const refunded = afterRefund.refunds.find((f) => f.refundNo === r1.refund.refundNo);
  step('refund query', refunded?.status === 'succeeded', `refund ${refunded?.status}; ${formatAmount(afterRefund.order.refundedMinor, 'CNY')} of 12.34 CNY refunded`);

  let refusedOver = false;
  try {
    await refund(orderNo, { amount: '10.01' }, tour);
  } catch (err) {
    refusedOver = err instanceof PayError && err.code === 'INVALID_REQUEST';
  }
  step('over-refund', refusedOver, 'a refund of 10.01 CNY (0.01 more than is left) was refused, nothing recorded');

  const p = await payout({ channel, amount: '5.00', currency: 'CNY', to: 'demo-supplier-001', name: 'Demo Supplier' }, tour);
  orderNos.push(p.order.orderNo);
  await sleep(MOCK_DEMO.settleAfterMs + 50);
  const paidOut = await query(p.order.orderNo, {}, tour);
  step('payout', paidOut.order.status === 'succeeded', `${p.order.orderNo} 5.00 CNY to demo-supplier-001 ${paidOut.order.status}`);

  const bal = await balance({ channel }, tour);
  const cny = bal.balances.find((b) => b.currency === 'CNY');
  step('balance', cny !== undefined, cny ? `${formatAmount(cny.availableMinor, 'CNY')} CNY available` : 'no CNY balance');

  if (ch.adapter.downloadBill && ch.module.bill) {
    const dir = mkdtempSync(join(tmpdir(), 'pay-demo-'));
    try {
      const today = new Date(ctx.clock()).toISOString().slice(0, 10);
      const bill = await ch.adapter.downloadBill({ date: today, dir });
      const mine = new Set([orderNo, p.order.orderNo]);
      let rows = 0;
      for await (const row of ch.module.bill.read({ path: bill.path }, { date: today })) if (row.orderNo && mine.has(row.orderNo)) rows++;
      step('bill', rows === 3, `today's bill lists the payment, the refund and the payout (${rows} rows)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** Runs the tour. */
export async function demo(ctx: Context): Promise<DemoResult> {
  const steps: DemoStep[] = [];
  const orderNos: string[] = [];
  ctx.notice(`pay demo: order book ${ctx.dbPath}`);
  await mockTour(ctx, steps, orderNos);
  return { dbPath: ctx.dbPath, steps, ok: steps.every((s) => s.ok), orderNos };
}

export function presentDemo(r: DemoResult): Presentation {
  return {
    json: r,
    blocks: [
      {
        kind: 'table',
        title: 'pay demo',
        columns: [
          { key: 'channel', header: 'channel' },
          { key: 'step', header: 'step' },
          { key: 'result', header: 'result' },
          { key: 'detail', header: 'detail' },
        ],
        rows: r.steps.map((s) => ({ channel: s.channel, step: s.step, result: statusCell(s.ok ? 'succeeded' : 'failed'), detail: s.detail })),
      },
      { kind: 'text', text: `Orders are in ${r.dbPath}. Next: pay orders list${r.orderNos[0] ? `; pay orders show ${r.orderNos[0]}` : ''}` },
    ],
    exitCode: r.ok ? 0 : 1,
  };
}
