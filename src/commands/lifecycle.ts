/**
 * Steps shared by the payment commands: applying a channel's answer to the store, and deciding
 * what a failed channel call means for an order that is already written.
 */
import { isPayError, PayError } from '../core/errors.js';
import type { Order, Refund } from '../core/order.js';
import type { OrderRef, OrderState, RefundRef, RefundState } from '../channel/contract.js';
import type { Store, UpdateResult } from '../store/store.js';

/** True for an order created to authorize only (`pay create --capture manual`). */
export function isManualCapture(order: Pick<Order, 'payload'>): boolean {
  return order.payload?.capture === 'manual';
}

/**
 * True when a channel error is a final "no" for the order (it can never succeed as asked), so
 * the order is marked failed. Anything else (timeout, network, rate limit, credentials) leaves the
 * order as it is: the outcome is unknown or the call can be retried with the same number.
 */
export function isDefinitiveRejection(err: unknown): err is PayError {
  return isPayError(err) && (err.code === 'INVALID_REQUEST' || err.code === 'INSUFFICIENT_BALANCE');
}

/** Re-throws a channel error with the order number and what to do next attached. */
export function withOrderContext(err: unknown, orderNo: string, what: 'order' | 'refund' | 'payout', definitive: boolean): PayError {
  if (!isPayError(err)) return new PayError('SYSTEM_ERROR', (err as Error)?.message ?? String(err), { cause: err, details: { [`${what}No`]: orderNo } });
  const hint = definitive
    ? `${what} ${orderNo} is recorded as failed.${err.hint ? ` ${err.hint}` : ''}`
    : `${what} ${orderNo} is recorded; its outcome at the channel is unknown. Run \`pay query ${orderNo}\` to resolve it, or retry with the same number${what === 'refund' ? ' (--refund-no)' : ' (--order-no)'}.`;
  return new PayError(err.code, err.message, {
    hint,
    providerCode: err.providerCode,
    providerMessage: err.providerMessage,
    httpStatus: err.httpStatus,
    requestId: err.requestId,
    channel: err.channel,
    details: { ...(err.details ?? {}), [`${what}No`]: orderNo },
    cause: err,
    exitCode: err.exitCode,
  });
}

/** The channel reference of a stored order. */
export function orderRef(o: Order): OrderRef {
  return {
    orderNo: o.orderNo,
    channelTradeNo: o.channelTradeNo,
    amountMinor: o.amountMinor,
    currency: o.currency,
    method: o.method,
    createdAt: o.createdAt,
    createConfirmed: o.status !== 'created',
    ...(isManualCapture(o) ? { capture: 'manual' as const } : {}),
    status: o.status,
    payload: o.payload,
  };
}

/** The channel reference of a stored refund. */
export function refundRef(r: Refund, order: Order): RefundRef {
  return {
    orderNo: r.orderNo,
    refundNo: r.refundNo,
    channelTradeNo: order.channelTradeNo,
    channelRefundNo: r.channelRefundNo,
    amountMinor: r.amountMinor,
    totalMinor: order.amountMinor,
    currency: r.currency,
    createConfirmed: r.status !== 'created',
  };
}

/**
 * Applies an order state reported by the channel. `capturedMinor` is given for an order created
 * with manual capture: what the channel says it captured (see OrderPatch).
 */
export function applyOrderState(store: Store, orderNo: string, state: OrderState, source: string, capturedMinor?: number): Promise<UpdateResult<Order>> {
  return store.updateOrder(
    orderNo,
    {
      status: state.status,
      channelTradeNo: state.channelTradeNo,
      paidAt: state.paidAt,
      failureCode: state.failure?.code,
      failureMessage: state.failure?.message,
      payload: state.payload,
      capturedMinor,
    },
    { source, detail: state.providerStatus ? { providerStatus: state.providerStatus } : undefined },
  );
}

/** Applies a refund state reported by the channel. */
export function applyRefundState(store: Store, refundNo: string, state: RefundState, source: string): Promise<UpdateResult<Refund>> {
  return store.updateRefund(
    refundNo,
    {
      status: state.status,
      channelRefundNo: state.channelRefundNo,
      refundedAt: state.refundedAt,
      failureCode: state.failure?.code,
      failureMessage: state.failure?.message,
    },
    { source, detail: state.providerStatus ? { providerStatus: state.providerStatus } : undefined },
  );
}
