/**
 * `pay demo`: the guided tour. Starts the channel simulators in-process on free loopback ports
 * and, for the mock channel and each real channel, runs a whole lifecycle through the same
 * command functions a user calls: create a payment, let the (simulated) payer pay, receive the
 * channel's signed callback on a local receiver, detect and verify it offline and apply it, query,
 * refund part, and reconcile the day's bill downloaded from the channel. One summary table at the
 * end; the orders stay in the database for `pay orders list`. No credentials, loopback only.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { isPayError, PayError } from '../core/errors.js';
import { formatAmount } from '../core/money.js';
import { utcToWallTime } from '../core/time.js';
import type { CallbackVerdict, ChannelModule, RawRequest } from '../channel/contract.js';
import type { Cell, Presentation } from '../output/render.js';
import type { Context } from './context.js';

/** The steps of one channel's tour, in order. */
export const DEMO_STEPS = ['create', 'pay', 'callback', 'query', 'refund', 'reconcile'] as const;
export type DemoStepName = (typeof DEMO_STEPS)[number];

/** Outcome of one step. */
export interface DemoStep {
  ok: boolean;
  detail: string;
}

/** One channel's tour. */
export interface DemoChannel {
  channel: string;
  currency: string;
  orderNo?: string;
  refundNo?: string;
  steps: Partial<Record<DemoStepName, DemoStep>>;
  ok: boolean;
  /** The error that stopped the tour, if one did. */
  error?: { code: string; message: string };
  durationMs: number;
}

export interface DemoResult {
  dbPath: string;
  channels: DemoChannel[];
  ok: boolean;
  durationMs: number;
}

/** What each channel's tour collects and refunds. */
interface Plan {
  channel: string;
  currency: string;
  amount: string;
  refund: string;
  /** `--method` for create (a method that calls the channel, so the payer can pay it). */
  method?: string;
  /** Webhooks go to an account-level URL rather than a per-order notify URL. */
  accountWebhooks?: boolean;
}

const PLANS: Plan[] = [
  { channel: 'mock', currency: 'CNY', amount: '12.34', refund: '2.34' },
  { channel: 'alipay', currency: 'CNY', amount: '88.00', refund: '8.00', method: 'qr' },
  { channel: 'wechatpay', currency: 'CNY', amount: '66.60', refund: '6.60', method: 'native' },
  { channel: 'unionpay', currency: 'CNY', amount: '120.00', refund: '20.00', method: 'app' },
  { channel: 'stripe', currency: 'USD', amount: '25.00', refund: '5.00', accountWebhooks: true },
  { channel: 'paypal', currency: 'USD', amount: '40.00', refund: '10.00', accountWebhooks: true },
];

/** Mock settings for the tour: quick settlement, no latency, callbacks built in-process. */
const MOCK_DEMO = { settleAfterMs: 200, latencyMs: 0, successRate: 1 };

/** How long a step may wait for something that progresses over time. */
const WAIT_MS = 15_000;

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new PayError('TIMEOUT', `gave up waiting for ${what} after ${timeoutMs / 1000} s`);
    await sleep(delay);
  }
}

/** A local receiver for the channels' notifications: verifies each and answers as the channel expects. */
interface Receiver {
  url(channel: string): string;
  received: { request: RawRequest; verdict: CallbackVerdict; module: ChannelModule }[];
  close(): Promise<void>;
}

async function startReceiver(judge: (request: RawRequest) => Promise<{ verdict: CallbackVerdict; module: ChannelModule } | undefined>): Promise<Receiver> {
  const received: Receiver['received'] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      const request: RawRequest = { method: req.method, target: req.url, headers, body: Buffer.concat(chunks), source: 'demo receiver' };
      judge(request).then(
        (j) => {
          if (!j) {
            res.writeHead(400).end('unknown channel');
            return;
          }
          received.push({ request, ...j });
          res.writeHead(j.verdict.reply.status, j.verdict.reply.headers).end(j.verdict.reply.body);
        },
        () => res.writeHead(500).end(),
      );
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: (channel) => `http://127.0.0.1:${port}/notify/${channel}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Runs one channel's tour; a failing step stops that channel only. */
async function tour(ctx: Context, plan: Plan, settings: Record<string, unknown>, receiver: Receiver | undefined, payer: (orderNo: string) => Promise<void>): Promise<DemoChannel> {
  const started = Date.now();
  const result: DemoChannel = { channel: plan.channel, currency: plan.currency, steps: {}, ok: false, durationMs: 0 };
  const t: Context = { ...ctx, channel: (ref, o) => ctx.channel(ref, { ...settings, ...(o ?? {}) }) };
  const step = (name: DemoStepName, ok: boolean, detail: string) => {
    result.steps[name] = { ok, detail };
    ctx.notice(`${ok ? '✓' : '✗'} ${plan.channel.padEnd(9)} ${name.padEnd(9)} ${detail}`);
    if (!ok) throw new PayError('SYSTEM_ERROR', `${name}: ${detail}`);
  };
  const { create } = await import('./create.js');
  const { query } = await import('./query.js');
  const { refund } = await import('./refund.js');
  try {
    const created = await create(
      { channel: plan.channel, amount: plan.amount, currency: plan.currency, subject: `pay demo (${plan.channel})`, method: plan.method, notifyUrl: receiver?.url(plan.channel) },
      t,
    );
    const orderNo = created.order.orderNo;
    result.orderNo = orderNo;
    step('create', created.order.status === 'pending' || created.order.status === 'created', `${orderNo} ${plan.amount} ${plan.currency} ${created.order.status}`);

    await payer(orderNo);
    step('pay', true, 'the payer paid');

    const store = await ctx.store();
    const { applyCallback } = await import('../verify/apply.js');
    if (receiver) {
      // Wait for the first valid notification about this order and apply it. (PayPal's first one
      // says the payer approved; the capture that follows the query moves the money.)
      const got = await until('the payment notification', async () => receiver.received.find((r) => r.verdict.valid && r.verdict.event?.orderNo === orderNo));
      const applied = await applyCallback(store, got.verdict, got.request);
      step('callback', got.verdict.valid, `${got.verdict.event?.type ?? 'notification'} verified (${got.verdict.scheme}), ${applied.outcome}`);
    } else {
      // The mock is in-process: it hands over the notification it would send.
      const ch = await t.channel(plan.channel);
      await sleep(MOCK_DEMO.settleAfterMs + 50);
      const build = (ch.adapter as { buildCallback?: (orderNo: string) => RawRequest }).buildCallback;
      if (!build || !ch.module.callback) throw new PayError('SYSTEM_ERROR', 'the mock cannot build callbacks');
      const request = build.call(ch.adapter, orderNo);
      const verdict = await ch.module.callback.verify(request, ch.config, { at: ctx.clock() });
      const applied = await applyCallback(store, verdict, request);
      step('callback', verdict.valid, `${verdict.event?.type ?? 'notification'} verified (${verdict.scheme}), ${applied.outcome}`);
    }

    const paid = await until('the order to be paid at the channel', async () => {
      const q = await query(orderNo, {}, t);
      return q.order.status === 'succeeded' && (!q.remote || q.remote.status === 'succeeded') ? q : undefined;
    });
    step('query', true, `channel says ${paid.remote?.providerStatus ?? paid.remote?.status ?? 'paid'}; order ${paid.order.status}`);

    const r = await refund(orderNo, { amount: plan.refund, reason: 'pay demo: partial refund' }, t);
    result.refundNo = r.refund.refundNo;
    const settled = await until('the refund to settle', async () => {
      const q = await query(r.refund.refundNo, {}, t);
      const f = q.refunds.find((x) => x.refundNo === r.refund.refundNo);
      if (f?.status === 'failed') throw new PayError('CHANNEL_ERROR', `refund failed: ${f.failureMessage ?? f.failureCode ?? ''}`);
      return f?.status === 'succeeded' ? q : undefined;
    });
    step('refund', true, `${plan.refund} of ${plan.amount} ${plan.currency} refunded (${formatAmount(settled.order.refundedMinor, plan.currency)} in all)`);

    const { reconcileCommand } = await import('./reconcile.js');
    const { loadChannelModule } = await import('../channel/registry.js');
    const mod = await loadChannelModule(plan.channel);
    const date = utcToWallTime(ctx.clock(), mod.description.timeZone).slice(0, 10);
    const rec = await reconcileCommand({ channel: plan.channel, date, download: true, format: 'json' }, t);
    const items = (rec.report.items ?? []) as { class: string; orderNo?: string; refundNo?: string }[];
    const mine = items.filter((i) => i.orderNo === orderNo || i.refundNo === r.refund.refundNo);
    const problems = mine.filter((i) => i.class !== 'matched');
    const others = items.filter((i) => i.class !== 'matched' && !mine.includes(i)).length;
    const summary = rec.report.summary as Record<string, number>;
    step(
      'reconcile',
      problems.length === 0 && summary.matched >= 2,
      problems.length
        ? `${problems.map((p) => p.class).join(', ')} for this tour's order`
        : `${date} bill: payment and refund matched${others ? ` (${others} other discrepancies in this book from earlier runs)` : ''}`,
    );
    result.ok = true;
  } catch (err) {
    const e = isPayError(err) ? err : new PayError('SYSTEM_ERROR', (err as Error).message);
    result.error = { code: e.code, message: e.message };
    const failedStep = DEMO_STEPS.find((s) => !result.steps[s]);
    if (failedStep && !result.steps[failedStep]) {
      result.steps[failedStep] = { ok: false, detail: e.message };
      ctx.notice(`✗ ${plan.channel.padEnd(9)} ${failedStep.padEnd(9)} ${e.message}`);
    }
  }
  result.durationMs = Date.now() - started;
  return result;
}

/** Runs the tour on every channel. */
export async function demo(ctx: Context): Promise<DemoResult> {
  const started = Date.now();
  ctx.notice(`pay demo: order book ${ctx.dbPath}`);
  const { startSandbox } = await import('../sandbox/server.js');
  const { loadChannelModule } = await import('../channel/registry.js');
  const { pickChannel } = await import('../verify/dispatch.js');
  const real = PLANS.filter((p) => p.channel !== 'mock').map((p) => p.channel);
  const sandbox = await startSandbox({ channels: real, port: 0 });
  const modules = await Promise.all(real.map((id) => loadChannelModule(id)));
  // Each notification is detected from its headers and body alone, then verified offline.
  const receiver = await startReceiver(async (request) => {
    const { module } = pickChannel(request, modules);
    if (!module.callback) return undefined;
    const verdict = await module.callback.verify(request, sandbox.profile(module.id), { at: ctx.clock() });
    return { verdict, module };
  });
  const channels: DemoChannel[] = [];
  try {
    for (const plan of PLANS) {
      if (plan.channel === 'mock') {
        channels.push(await tour(ctx, plan, MOCK_DEMO, undefined, async () => {}));
        continue;
      }
      if (!sandbox.channels[plan.channel]) {
        channels.push({ channel: plan.channel, currency: plan.currency, steps: {}, ok: false, error: { code: 'SYSTEM_ERROR', message: 'no simulator' }, durationMs: 0 });
        continue;
      }
      if (plan.accountWebhooks) sandbox.setWebhookUrl(receiver.url(plan.channel), plan.channel);
      channels.push(await tour(ctx, plan, sandbox.profile(plan.channel), receiver, (orderNo) => sandbox.pay(plan.channel, orderNo)));
    }
  } finally {
    await receiver.close();
    await sandbox.close();
  }
  return { dbPath: ctx.dbPath, channels, ok: channels.every((c) => c.ok), durationMs: Date.now() - started };
}

function stepCell(s: DemoStep | undefined): Cell {
  if (!s) return { text: '-', tone: 'dim' };
  return s.ok ? { text: '✓', tone: 'ok' } : { text: '✗', tone: 'error' };
}

export function presentDemo(r: DemoResult): Presentation {
  const failures = r.channels.filter((c) => !c.ok);
  return {
    json: r,
    blocks: [
      {
        kind: 'table',
        title: `pay demo (${(r.durationMs / 1000).toFixed(1)} s)`,
        columns: [
          { key: 'channel', header: 'channel' },
          { key: 'orderNo', header: 'order no' },
          ...DEMO_STEPS.map((s) => ({ key: s, header: s })),
          { key: 'result', header: 'result' },
        ],
        rows: r.channels.map((c) => ({
          channel: c.channel,
          orderNo: c.orderNo ?? '',
          ...Object.fromEntries(DEMO_STEPS.map((s) => [s, stepCell(c.steps[s])])),
          result: c.ok ? { text: 'succeeded', tone: 'ok' } : { text: 'failed', tone: 'error' },
        })),
      },
      ...failures.map((c) => ({ kind: 'text' as const, tone: 'error' as const, text: `${c.channel}: ${c.error?.message ?? 'failed'}` })),
      {
        kind: 'text',
        text: `Orders are in ${r.dbPath}. Next: pay orders list${r.channels[0]?.orderNo ? `; pay orders show ${r.channels[0].orderNo}` : ''}; pay reconcile history`,
      },
    ],
    exitCode: r.ok ? 0 : 1,
  };
}
