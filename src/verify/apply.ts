/**
 * `--apply`: moves the local order (or refund) as a valid callback says, through the store and
 * so through the core state machine. The callback must match the order book (order number, kind,
 * channel, trade number, amount, currency); one that does not, or that names an order pay does
 * not know, is reported and changes nothing: it is not recorded either, so the channel's retry
 * can still apply once the order is there. A callback is recorded once under its dedup key; a
 * replay changes nothing and says when it was first applied.
 */
import { createHash } from 'node:crypto';
import type { CallbackEvent, CallbackVerdict, RawRequest } from '../channel/contract.js';
import { formatAmount } from '../core/money.js';
import { ORDER_STATUSES, REFUND_STATUSES, type Order, type OrderStatus, type RefundStatus } from '../core/order.js';
import type { Store, UpdateResult } from '../store/store.js';

/** What applying did. `unknown-order` and `mismatch` are refusals (exit 1). */
export type ApplyOutcome = 'applied' | 'unchanged' | 'duplicate' | 'unknown-order' | 'mismatch' | 'not-applicable';

/** The result of applying one callback. */
export interface ApplyResult {
  outcome: ApplyOutcome;
  /** One sentence for people. */
  message: string;
  orderNo?: string;
  refundNo?: string;
  /** Status before and after, when an order or refund was found. */
  from?: string;
  to?: string;
  /** True when this run recorded the callback (false for replays and refusals). */
  recorded: boolean;
}

/** True for outcomes that refuse the callback (they make `pay verify` exit 1). */
export function isRefusal(outcome: ApplyOutcome): boolean {
  return outcome === 'unknown-order' || outcome === 'mismatch';
}

function moneyText(minor: number, currency: string): string {
  return `${formatAmount(minor, currency)} ${currency}`;
}

/** Checks the callback's amount and currency against what the order book holds. */
function amountProblem(ev: CallbackEvent, amountMinor: number, currency: string, what: string, mustState: boolean): string | undefined {
  if (ev.currency !== undefined && ev.currency !== currency) {
    return `the callback is in ${ev.currency}; ${what} is in ${currency}`;
  }
  if (ev.amountMinor !== undefined) {
    if (ev.currency === undefined) return `the callback states an amount without its currency; ${what} is ${moneyText(amountMinor, currency)}`;
    if (ev.amountMinor !== amountMinor) {
      return `the callback says ${moneyText(ev.amountMinor, currency)}; ${what} is ${moneyText(amountMinor, currency)}`;
    }
  } else if (mustState) {
    return `the callback does not state the amount, so it cannot be checked against ${what} (${moneyText(amountMinor, currency)})`;
  }
  return undefined;
}

/** Applies a valid verdict to the store. Never throws for a callback that does not fit. */
export async function applyCallback(store: Store, verdict: CallbackVerdict, request: RawRequest): Promise<ApplyResult> {
  if (!verdict.valid) return { outcome: 'not-applicable', message: 'not applied: the callback is not valid', recorded: false };
  const ev = verdict.event;
  const bodySha256 = createHash('sha256').update(request.body).digest('hex');
  const dedupKey = verdict.dedupKey ?? `sha256:${bodySha256}`;
  const previous = await store.getCallback(verdict.channel, dedupKey);
  if (previous) {
    return {
      outcome: 'duplicate',
      message: `replay: already recorded ${previous.receivedAt ?? ''} (${previous.outcome}); nothing changed`,
      orderNo: previous.orderNo,
      refundNo: previous.refundNo,
      recorded: false,
    };
  }
  if (!ev || ev.kind === 'other') {
    return { outcome: 'not-applicable', message: `event ${ev?.type ?? '(none)'} does not concern an order; nothing to apply`, recorded: false };
  }

  let result: Omit<ApplyResult, 'recorded'>;
  if (ev.kind === 'refund') {
    const r = await applyRefund(store, verdict, ev, dedupKey);
    if (isRefusal(r.outcome) || r.outcome === 'not-applicable') return { ...r, recorded: false };
    result = r;
  } else {
    const r = await applyOrder(store, verdict, ev, dedupKey);
    if (isRefusal(r.outcome) || r.outcome === 'not-applicable') return { ...r, recorded: false };
    result = r;
  }
  const rec = await store.recordCallback({
    channel: verdict.channel,
    dedupKey,
    eventType: ev.type,
    orderNo: result.orderNo,
    refundNo: result.refundNo,
    bodySha256,
    outcome: `${result.outcome}: ${result.message}`,
  });
  if (!rec.recorded) {
    // Another process recorded the same callback between our check and now; the state machine
    // made our update a no-op or the same move, so report it as the replay it is.
    return { ...result, outcome: 'duplicate', message: `replay: recorded concurrently (${rec.previous?.outcome ?? ''}); nothing more changed`, recorded: false };
  }
  return { ...result, recorded: true };
}

function describe(upd: UpdateResult<{ status: string }>, from: string, name: string): { outcome: ApplyOutcome; message: string } {
  if (upd.value.status !== from) return { outcome: 'applied', message: `${name}: ${from} -> ${upd.value.status}` };
  if (upd.ignored) return { outcome: 'unchanged', message: `${name} stays ${from}: ${upd.ignored}` };
  return { outcome: 'unchanged', message: `${name} is already ${from}` };
}

async function applyOrder(store: Store, verdict: CallbackVerdict, ev: CallbackEvent, dedupKey: string): Promise<Omit<ApplyResult, 'recorded'>> {
  let order: Order | undefined = ev.orderNo ? await store.getOrder(ev.orderNo) : undefined;
  if (!order && ev.channelTradeNo) order = await store.findOrderByChannelTradeNo(verdict.channel, ev.channelTradeNo);
  const named = ev.orderNo ?? ev.channelTradeNo;
  if (!order) {
    return {
      outcome: 'unknown-order',
      message: named
        ? `order ${named} is not in the order book; nothing changed`
        : 'the callback names no order number or trade number; nothing changed',
      orderNo: ev.orderNo,
    };
  }
  const refuse = (why: string) => ({ outcome: 'mismatch' as const, message: `${why}; nothing changed`, orderNo: order!.orderNo, from: order!.status, to: order!.status });
  if (order.channel !== verdict.channel) return refuse(`order ${order.orderNo} belongs to channel ${order.channel}, the callback comes from ${verdict.channel}`);
  const wantKind = ev.kind === 'payout' ? 'payout' : 'collect';
  if (order.kind !== wantKind) return refuse(`order ${order.orderNo} is a ${order.kind}, the callback is about a ${ev.kind}`);
  if (ev.channelTradeNo && order.channelTradeNo && ev.channelTradeNo !== order.channelTradeNo) {
    return refuse(`the callback's trade number ${ev.channelTradeNo} differs from the order book's ${order.channelTradeNo}`);
  }
  const status = ev.status && (ORDER_STATUSES as readonly string[]).includes(ev.status) ? (ev.status as OrderStatus) : undefined;
  const problem = amountProblem(ev, order.amountMinor, order.currency, `order ${order.orderNo}`, status === 'succeeded');
  if (problem) return refuse(problem);
  if (!status) {
    return { outcome: 'not-applicable', message: `the callback reports no order status (${ev.providerStatus ?? 'none'}); nothing to apply`, orderNo: order.orderNo };
  }
  const from = order.status;
  const upd = await store.updateOrder(
    order.orderNo,
    {
      status,
      channelTradeNo: ev.channelTradeNo,
      paidAt: status === 'succeeded' ? ev.occurredAt : undefined,
      failureCode: status === 'failed' || status === 'closed' ? ev.providerStatus : undefined,
      failureMessage: status === 'failed' || status === 'closed' ? `${verdict.channel} callback ${ev.type}` : undefined,
    },
    { source: 'callback', detail: { dedupKey, eventType: ev.type, ...(ev.providerStatus ? { providerStatus: ev.providerStatus } : {}) } },
  );
  return { ...describe(upd, from, `order ${order.orderNo}`), orderNo: order.orderNo, from, to: upd.value.status };
}

async function applyRefund(store: Store, verdict: CallbackVerdict, ev: CallbackEvent, dedupKey: string): Promise<Omit<ApplyResult, 'recorded'>> {
  const refund = ev.refundNo ? await store.getRefund(ev.refundNo) : undefined;
  if (!refund) {
    return {
      outcome: 'unknown-order',
      message: ev.refundNo ? `refund ${ev.refundNo} is not in the order book; nothing changed` : 'the refund callback names no refund number; nothing changed',
      orderNo: ev.orderNo,
      refundNo: ev.refundNo,
    };
  }
  const refuse = (why: string) => ({ outcome: 'mismatch' as const, message: `${why}; nothing changed`, orderNo: refund.orderNo, refundNo: refund.refundNo, from: refund.status, to: refund.status });
  if (refund.channel !== verdict.channel) return refuse(`refund ${refund.refundNo} belongs to channel ${refund.channel}, the callback comes from ${verdict.channel}`);
  if (ev.orderNo && ev.orderNo !== refund.orderNo) return refuse(`refund ${refund.refundNo} is of order ${refund.orderNo}, the callback says ${ev.orderNo}`);
  const status = ev.status && (REFUND_STATUSES as readonly string[]).includes(ev.status) ? (ev.status as RefundStatus) : undefined;
  const problem = amountProblem(ev, refund.amountMinor, refund.currency, `refund ${refund.refundNo}`, status === 'succeeded');
  if (problem) return refuse(problem);
  if (!status) {
    return { outcome: 'not-applicable', message: `the callback reports no refund status (${ev.providerStatus ?? 'none'}); nothing to apply`, orderNo: refund.orderNo, refundNo: refund.refundNo };
  }
  const from = refund.status;
  const upd = await store.updateRefund(
    refund.refundNo,
    {
      status,
      refundedAt: status === 'succeeded' ? ev.occurredAt : undefined,
      failureCode: status === 'failed' ? ev.providerStatus : undefined,
      failureMessage: status === 'failed' ? `${verdict.channel} callback ${ev.type}` : undefined,
    },
    { source: 'callback', detail: { dedupKey, eventType: ev.type, ...(ev.providerStatus ? { providerStatus: ev.providerStatus } : {}) } },
  );
  return { ...describe(upd, from, `refund ${refund.refundNo}`), orderNo: refund.orderNo, refundNo: refund.refundNo, from, to: upd.value.status };
}
