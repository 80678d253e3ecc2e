/**
 * Channel calls that also write the order book (`pay loadtest --db`), as the payment commands do.
 */
import type { ChannelAdapter } from '../channel/contract.js';
import { applyOrderState, applyRefundState, isDefinitiveRejection } from '../commands/lifecycle.js';
import type { Store } from '../store/store.js';
import type { ChannelCalls } from './channel-target.js';

/** Wraps adapter calls so each is written to the order book (`--db`), as the payment commands do. */
export function storeCalls(adapter: ChannelAdapter, channel: string, store: Store): ChannelCalls {
  return {
    async collect(req) {
      const { order, created } = await store.createOrder({ orderNo: req.orderNo, kind: 'collect', channel, amountMinor: req.amountMinor, currency: req.currency, subject: req.subject, method: req.method, source: 'loadtest' });
      // --channel auto fell back from a channel that certainly did nothing: the order moves here.
      if (!created && order.channel !== channel && order.status === 'created') await store.rerouteOrder(req.orderNo, order.channel, channel, { source: 'route.fallback' });
      try {
        const res = await adapter.collect!(req);
        await store.updateOrder(
          req.orderNo,
          { status: res.status, channelTradeNo: res.channelTradeNo, payload: res.payload, paidAt: res.paidAt, failureCode: res.failure?.code, failureMessage: res.failure?.message },
          { source: 'channel.collect' },
        );
        return res;
      } catch (err) {
        if (isDefinitiveRejection(err)) await store.updateOrder(req.orderNo, { status: 'failed', failureCode: err.providerCode ?? err.code, failureMessage: err.message }, { source: 'channel.collect' });
        throw err;
      }
    },
    async query(ref) {
      const state = await adapter.queryCollect!(ref);
      await applyOrderState(store, ref.orderNo, state, 'channel.query');
      return state;
    },
    async refund(req) {
      await store.createRefund({ refundNo: req.refundNo, orderNo: req.orderNo, amountMinor: req.amountMinor, reason: req.reason });
      try {
        const state = await adapter.refund!(req);
        await applyRefundState(store, req.refundNo, state, 'channel.refund');
        return state;
      } catch (err) {
        if (isDefinitiveRejection(err)) await store.updateRefund(req.refundNo, { status: 'failed', failureCode: err.providerCode ?? err.code, failureMessage: err.message }, { source: 'channel.refund' });
        throw err;
      }
    },
  };
}

