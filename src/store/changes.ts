/**
 * What a store write changes, decided once for every backend: the next order or refund after a
 * channel answer (through the state machine in core), and the events each write appends. The
 * SQLite and PostgreSQL stores only read, lock and write rows around these.
 */
import { nextOrderStatus, nextRefundStatus, statusAfterRefunds, type Order, type OrderStatus, type Refund } from '../core/order.js';
import { invalid } from '../core/errors.js';
import type { CallbackRecord, EventCause, NewEvent, NewOrder, NewRefund, OrderPatch, RefundPatch } from './store.js';

/** An update decided: the next value, whether anything changed, and the event to append. */
export interface Planned<T> {
  next: T;
  changed: boolean;
  ignored?: string;
  /** The status event, when the status moved. */
  event?: NewEvent;
  /** `order.captured`, when a payment succeeded through a capture (the authorized, captured and released amounts). */
  captureEvent?: NewEvent;
}

/** Applies a channel answer to an order through the state machine. */
export function planOrderUpdate(order: Order, patch: OrderPatch, cause: EventCause, now: string): Planned<Order> {
  let ignored: string | undefined;
  let status = order.status;
  if (patch.status !== undefined) {
    const t = nextOrderStatus(order.status, patch.status);
    status = t.status;
    ignored = t.ignored;
  }
  const statusChanged = status !== order.status;
  const next: Order = { ...order, status };
  // Facts (trade number, payload, failure) are taken even when a stale status is ignored.
  if (patch.channelTradeNo && patch.channelTradeNo !== order.channelTradeNo) next.channelTradeNo = patch.channelTradeNo;
  if (patch.payload) next.payload = { ...(order.payload ?? {}), ...patch.payload };
  if (statusChanged && (status === 'failed' || status === 'closed')) {
    if (patch.failureCode) next.failureCode = patch.failureCode;
    if (patch.failureMessage) next.failureMessage = patch.failureMessage;
  }
  if (statusChanged && status === 'succeeded') next.paidAt = patch.paidAt ?? now;
  // A partial capture makes the captured amount the order's: refunds and reconciliation see what was taken.
  const captured = patch.capturedMinor;
  const partialCapture = statusChanged && status === 'succeeded' && captured !== undefined && Number.isSafeInteger(captured) && captured > 0 && captured < order.amountMinor;
  if (partialCapture) next.amountMinor = captured;
  const changed =
    statusChanged ||
    next.channelTradeNo !== order.channelTradeNo ||
    JSON.stringify(next.payload) !== JSON.stringify(order.payload) ||
    next.failureCode !== order.failureCode ||
    next.paidAt !== order.paidAt ||
    next.amountMinor !== order.amountMinor;
  if (!changed) return { next: order, changed: false, ignored };
  next.updatedAt = now;
  const event: NewEvent | undefined = statusChanged
    ? {
        type: 'order.status',
        channel: order.channel,
        orderNo: order.orderNo,
        data: {
          from: order.status,
          to: status,
          source: cause.source,
          ...(next.failureCode && status !== 'succeeded' ? { failureCode: next.failureCode } : {}),
          ...(cause.detail ?? {}),
        },
      }
    : undefined;
  const captureEvent: NewEvent | undefined =
    statusChanged && status === 'succeeded' && captured !== undefined
      ? {
          type: 'order.captured',
          channel: order.channel,
          orderNo: order.orderNo,
          data: { source: cause.source, authorizedMinor: order.amountMinor, capturedMinor: next.amountMinor, releasedMinor: order.amountMinor - next.amountMinor, currency: order.currency },
        }
      : undefined;
  return { next, changed: true, ignored, event, captureEvent };
}

/** Applies a channel answer to a refund through the state machine. */
export function planRefundUpdate(refund: Refund, patch: RefundPatch, cause: EventCause, now: string): Planned<Refund> {
  let status = refund.status;
  let ignored: string | undefined;
  if (patch.status !== undefined) {
    const t = nextRefundStatus(refund.status, patch.status);
    status = t.status;
    ignored = t.ignored;
  }
  const statusChanged = status !== refund.status;
  const next: Refund = { ...refund, status };
  if (patch.channelRefundNo && patch.channelRefundNo !== refund.channelRefundNo) next.channelRefundNo = patch.channelRefundNo;
  if (statusChanged && status === 'failed') {
    if (patch.failureCode) next.failureCode = patch.failureCode;
    if (patch.failureMessage) next.failureMessage = patch.failureMessage;
  }
  if (statusChanged && status === 'succeeded') next.refundedAt = patch.refundedAt ?? now;
  const changed = statusChanged || next.channelRefundNo !== refund.channelRefundNo;
  if (!changed) return { next: refund, changed: false, ignored };
  next.updatedAt = now;
  const event: NewEvent | undefined = statusChanged
    ? {
        type: 'refund.status',
        channel: refund.channel,
        orderNo: refund.orderNo,
        refundNo: refund.refundNo,
        data: { from: refund.status, to: status, source: cause.source, ...(cause.detail ?? {}) },
      }
    : undefined;
  return { next, changed: true, ignored, event };
}

/**
 * The order after one of its refunds succeeded: refunded total and status, and the status event
 * when it moved. Throws when the refunds would exceed the order.
 */
export function orderAfterRefund(order: Order, refund: Refund, cause: EventCause): { refundedMinor: number; status: OrderStatus; event?: NewEvent } {
  const refunded = order.refundedMinor + refund.amountMinor;
  if (refunded > order.amountMinor) throw invalid(`refund ${refund.refundNo} would take ${order.orderNo} past its amount`);
  const status = statusAfterRefunds(order, refunded);
  const event: NewEvent | undefined =
    status !== order.status
      ? { type: 'order.status', channel: order.channel, orderNo: order.orderNo, data: { from: order.status, to: status, source: cause.source, refundNo: refund.refundNo } }
      : undefined;
  return { refundedMinor: refunded, status, event };
}

/** The event of a created order. */
export function orderCreatedEvent(input: NewOrder, cause: EventCause): NewEvent {
  return {
    type: 'order.created',
    channel: input.channel,
    orderNo: input.orderNo,
    data: { source: cause.source, kind: input.kind, status: input.status ?? 'created', amountMinor: input.amountMinor, currency: input.currency, ...(cause.detail ?? {}) },
  };
}

/** The event of a created refund. */
export function refundCreatedEvent(input: NewRefund, order: Order, cause: EventCause): NewEvent {
  return {
    type: 'refund.created',
    channel: order.channel,
    orderNo: input.orderNo,
    refundNo: input.refundNo,
    data: { source: cause.source, amountMinor: input.amountMinor, currency: order.currency, ...(cause.detail ?? {}) },
  };
}

/** The event of a recorded callback. */
export function callbackEvent(record: CallbackRecord): NewEvent {
  return {
    type: 'callback.recorded',
    channel: record.channel,
    orderNo: record.orderNo,
    refundNo: record.refundNo,
    data: { dedupKey: record.dedupKey, eventType: record.eventType, outcome: record.outcome, bodySha256: record.bodySha256 },
  };
}
