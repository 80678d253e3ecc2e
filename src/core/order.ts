/**
 * Orders, refunds and the state machine that moves them. Pure: no I/O. The store applies these
 * rules inside its transactions; commands and callbacks only ever ask for a transition.
 *
 *   created -> pending -> succeeded | failed | closed
 *   created -> succeeded | failed | closed      (a channel may answer synchronously)
 *   succeeded -> refunded                       (only when refunds reach the full amount)
 *
 * A paid order never moves back to pending; a repeated report of the current state changes
 * nothing; a final state is final.
 */
import { invalid, PayError } from './errors.js';
import { formatAmount } from './money.js';

/** A collection (pay-in) or a payout (pay-out to an account). */
export type OrderKind = 'collect' | 'payout';

/** Lifecycle of an order or payout. */
export type OrderStatus = 'created' | 'pending' | 'succeeded' | 'failed' | 'closed' | 'refunded';

/** Lifecycle of a refund. */
export type RefundStatus = 'created' | 'pending' | 'succeeded' | 'failed';

export const ORDER_STATUSES: readonly OrderStatus[] = ['created', 'pending', 'succeeded', 'failed', 'closed', 'refunded'];
export const REFUND_STATUSES: readonly RefundStatus[] = ['created', 'pending', 'succeeded', 'failed'];

/** An order as the store holds it. */
export interface Order {
  /** Merchant order number (ours; unique). */
  orderNo: string;
  kind: OrderKind;
  /** Channel id (`mock`, `alipay`, ...). */
  channel: string;
  status: OrderStatus;
  /** Integer minor units. */
  amountMinor: number;
  currency: string;
  /** Sum of succeeded refunds, minor units. */
  refundedMinor: number;
  subject?: string;
  /** Payment method asked of the channel (`qr`, `page`, `card`, ...). */
  method?: string;
  /** Payout destination account. */
  payee?: string;
  /** Payout destination account holder's name. */
  payeeName?: string;
  /** The channel's own id for the trade. */
  channelTradeNo?: string;
  /** Standard or provider code of the failure, when failed. */
  failureCode?: string;
  failureMessage?: string;
  /** What the channel returned for the payer (QR payload, redirect URL, client secret...). */
  payload?: Record<string, unknown>;
  /** Where the order came from: `cli`, `import`, `loadtest`... */
  source: string;
  /** ISO 8601 UTC. */
  createdAt: string;
  updatedAt: string;
  /** When the money moved (payment succeeded or payout completed), ISO 8601 UTC. */
  paidAt?: string;
}

/** A refund of (part of) a collect order. */
export interface Refund {
  refundNo: string;
  orderNo: string;
  channel: string;
  status: RefundStatus;
  amountMinor: number;
  currency: string;
  reason?: string;
  channelRefundNo?: string;
  failureCode?: string;
  failureMessage?: string;
  createdAt: string;
  updatedAt: string;
  refundedAt?: string;
}

const ORDER_NEXT: Record<OrderStatus, readonly OrderStatus[]> = {
  created: ['pending', 'succeeded', 'failed', 'closed'],
  pending: ['succeeded', 'failed', 'closed'],
  succeeded: ['refunded'],
  failed: [],
  closed: [],
  refunded: [],
};

const REFUND_NEXT: Record<RefundStatus, readonly RefundStatus[]> = {
  created: ['pending', 'succeeded', 'failed'],
  pending: ['succeeded', 'failed'],
  succeeded: [],
  failed: [],
};

/** Outcome of asking for a transition. */
export interface TransitionResult<S> {
  /** The state after the request. */
  status: S;
  /** True when the state changed. */
  changed: boolean;
  /** Why a report was not applied (e.g. "paid orders never move back to pending"). */
  ignored?: string;
}

/**
 * Applies a state the channel reported to an order's current state. Illegal moves are not errors
 * (channels repeat themselves and report stale states); they are ignored with a reason.
 */
export function nextOrderStatus(current: OrderStatus, reported: OrderStatus): TransitionResult<OrderStatus> {
  if (reported === current) return { status: current, changed: false };
  // "refunded" is derived from refund totals, never taken from a report.
  if (reported === 'refunded') {
    return { status: current, changed: false, ignored: 'the refunded state follows from refunds, not from a report' };
  }
  if (current === 'refunded' && reported === 'succeeded') return { status: current, changed: false };
  if (ORDER_NEXT[current].includes(reported)) return { status: reported, changed: true };
  const why =
    current === 'succeeded' || current === 'refunded'
      ? `a paid order never moves to ${reported}`
      : `${current} is final; ${reported} ignored`;
  return { status: current, changed: false, ignored: why };
}

/** The refund counterpart of {@link nextOrderStatus}. */
export function nextRefundStatus(current: RefundStatus, reported: RefundStatus): TransitionResult<RefundStatus> {
  if (reported === current) return { status: current, changed: false };
  if (REFUND_NEXT[current].includes(reported)) return { status: reported, changed: true };
  return { status: current, changed: false, ignored: `refund is ${current}; ${reported} ignored` };
}

/**
 * How much of an order may still be refunded: the amount, less succeeded refunds, less refunds
 * still in flight (created or pending), so two concurrent refunds cannot together exceed it.
 */
export function refundableMinor(order: Pick<Order, 'amountMinor'>, refunds: readonly Pick<Refund, 'status' | 'amountMinor'>[]): number {
  let reserved = 0;
  for (const r of refunds) if (r.status !== 'failed') reserved += r.amountMinor;
  return Math.max(0, order.amountMinor - reserved);
}

/**
 * Throws a clear INVALID_REQUEST unless `amountMinor` may be refunded from `order` now. A refund is
 * allowed only on a collect order that succeeded (or is partly refunded).
 */
export function assertRefundable(
  order: Order,
  refunds: readonly Pick<Refund, 'status' | 'amountMinor'>[],
  amountMinor: number,
): void {
  if (order.kind !== 'collect') {
    throw invalid(`${order.orderNo} is a payout; only collect orders can be refunded`);
  }
  if (order.status !== 'succeeded') {
    const hint =
      order.status === 'pending' || order.status === 'created'
        ? `Run \`pay query ${order.orderNo}\` to see whether it has been paid since.`
        : undefined;
    throw invalid(`${order.orderNo} is ${order.status}; only a paid order can be refunded`, { hint });
  }
  const left = refundableMinor(order, refunds);
  if (amountMinor > left) {
    const inFlight = refunds.some((r) => r.status === 'created' || r.status === 'pending');
    throw invalid(
      `refund of ${formatAmount(amountMinor, order.currency)} ${order.currency} exceeds what is left to refund on ${order.orderNo}: ${formatAmount(left, order.currency)} ${order.currency}`,
      {
        hint: inFlight
          ? 'Some refunds are still in flight and count against the total; query them first.'
          : `Paid ${formatAmount(order.amountMinor, order.currency)}, refunded ${formatAmount(order.refundedMinor, order.currency)}.`,
        details: { refundableMinor: left },
      },
    );
  }
}

/** The order status that follows from its succeeded refunds total. */
export function statusAfterRefunds(order: Pick<Order, 'status' | 'amountMinor'>, refundedMinor: number): OrderStatus {
  if (refundedMinor > order.amountMinor) {
    throw new PayError('SYSTEM_ERROR', 'internal: refunded total exceeds the order amount');
  }
  if (order.status === 'succeeded' && refundedMinor === order.amountMinor) return 'refunded';
  return order.status;
}
