/**
 * The Stripe channel: PaymentIntents, Refunds, Payouts, Balance, balance transactions and the
 * itemized report, webhook signatures. This module is what the registry loads; it stays light
 * (the adapter and its HTTP client load in `create`).
 */
import type { ChannelDescription, ChannelModule } from '../../src/channel/contract.js';
import { lazyBills } from '../../src/channel/lazy.js';
import { stripeCallbacks } from './callback.js';
import { STRIPE_CONFIG_FIELDS, validateStripeConfig, type StripeConfig } from './config.js';
import { stripeExponentOverrides } from './currency.js';

const description: ChannelDescription = {
  id: 'stripe',
  name: 'Stripe',
  version: '1.0.0',
  capabilities: ['collect', 'queryCollect', 'closeCollect', 'capture', 'refund', 'queryRefund', 'payout', 'queryPayout', 'balance', 'verifyCallback', 'readBill', 'downloadBill'],
  config: STRIPE_CONFIG_FIELDS,
  timeZone: 'UTC',
  // `card` sends payment_method_types[]=card; `automatic` lets Stripe choose (automatic_payment_methods).
  methods: ['card', 'automatic'],
};
// Computed on first read: it asks ICU about every currency Stripe supports.
Object.defineProperty(description, 'exponentOverrides', { enumerable: true, get: stripeExponentOverrides });

const stripe: ChannelModule<StripeConfig> = {
  id: 'stripe',
  description,
  validateConfig: validateStripeConfig,
  async create(config, deps) {
    const { StripeAdapter } = await import('./adapter.js');
    return new StripeAdapter(config, deps);
  },
  callback: stripeCallbacks,
  bill: lazyBills(() => import('./bill.js').then((m) => m.stripeBills)),
};

export default stripe;
