/**
 * The PayPal channel: Orders v2 with capture, refunds, Payouts, balances, the transactions API and
 * the settlement report (STL), webhook signatures checked offline. This module is what the
 * registry loads; it stays light (the adapter and its HTTP client load in `create`).
 */
import type { ChannelDescription, ChannelModule } from '../../src/channel/contract.js';
import { lazyBills } from '../../src/channel/lazy.js';
import { paypalCallbacks } from './callback.js';
import { PAYPAL_CONFIG_FIELDS, validatePaypalConfig, type PaypalConfig } from './config.js';
import { PAYPAL_CURRENCIES, paypalExponentOverrides } from './currency.js';

const description: ChannelDescription = {
  id: 'paypal',
  name: 'PayPal',
  version: '1.0.0',
  // closeCollect voids an authorization; an unapproved Orders v2 order cannot be voided, so it is
  // abandoned in pay's books and left to expire at PayPal (the adapter says so in `localOnly`).
  capabilities: ['collect', 'queryCollect', 'closeCollect', 'capture', 'refund', 'queryRefund', 'payout', 'queryPayout', 'balance', 'verifyCallback', 'readBill', 'downloadBill'],
  config: PAYPAL_CONFIG_FIELDS,
  timeZone: 'UTC',
  methods: ['paypal'],
  currencies: PAYPAL_CURRENCIES,
};
Object.defineProperty(description, 'exponentOverrides', { enumerable: true, get: paypalExponentOverrides });

const paypal: ChannelModule<PaypalConfig> = {
  id: 'paypal',
  description,
  validateConfig: validatePaypalConfig,
  async create(config, deps) {
    const { PaypalAdapter } = await import('./adapter.js');
    return new PaypalAdapter(config, deps);
  },
  callback: paypalCallbacks,
  bill: lazyBills(() => import('./bill.js').then((m) => m.paypalBills)),
};

export default paypal;
