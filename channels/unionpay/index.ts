/**
 * The UnionPay channel (China UnionPay online gateway, interface 5.1.0; 5.0.0 and signMethod 11
 * also verified): web and app consume, query, refund (void on the day when configured), back
 * notifications, and the reconciliation file (file transfer, txnType 76). This module is what the
 * registry loads; it stays light (the adapter and the bill reader load when used).
 *
 * Not offered: payouts and balance. The online gateway product has no generic payout or balance
 * API (UnionPay's 代付 is a separate product with its own contract), so the capabilities leave
 * them out rather than pretend.
 */
import type { ChannelModule } from '../../src/channel/contract.js';
import { lazyBills } from '../../src/channel/lazy.js';
import { detectUnionPay, verifyUnionPayCallback } from './callback.js';
import { UNIONPAY_CONFIG_FIELDS, validateUnionPayConfig, type UnionPayConfig } from './config.js';

const unionpay: ChannelModule<UnionPayConfig> = {
  id: 'unionpay',
  description: {
    id: 'unionpay',
    name: 'China UnionPay online gateway',
    version: '1.0.0',
    capabilities: ['collect', 'queryCollect', 'closeCollect', 'refund', 'queryRefund', 'verifyCallback', 'readBill', 'downloadBill'],
    config: UNIONPAY_CONFIG_FIELDS,
    timeZone: 'Asia/Shanghai',
    // app (the default): back consume (appTransReq.do), returns the tn the UnionPay app SDK opens;
    // the order exists at UnionPay once pay gets the answer, so `pay query` and the sandbox payer
    // see it at once. web: front consume, an auto-submitting HTML form for the payer's browser (no
    // call from pay: the order exists at UnionPay only once the payer's browser posts it).
    methods: ['app', 'web'],
    currencies: ['CNY'],
  },
  validateConfig: validateUnionPayConfig,
  async create(config, deps) {
    const { UnionPayAdapter } = await import('./adapter.js');
    return new UnionPayAdapter(config, deps);
  },
  callback: { detect: detectUnionPay, verify: verifyUnionPayCallback },
  bill: lazyBills(() =>
    import('./bill.js').then((m) => ({ read: m.readUnionPayBill, write: m.writeUnionPayBill })),
  ),
};

export default unionpay;
