/**
 * The shared channel suites against the Stripe simulator: the lifecycle through the command
 * functions, and injected faults through the real binary (`npm run build` first).
 *
 * Skipped fault steps, and where they are covered instead (faults.test.ts): Stripe retrieves a
 * PaymentIntent by its pi_ id, so a query's URL never carries our order number, which the
 * suite's request matching for retryQuery, rateLimit and malformed relies on; and Stripe's API
 * answers are not signed (TLS is the integrity check), so there is no response signature to spoil.
 */
import { channelContractSuite, channelFaultSuite } from '../../../test/helpers/contract-suite.js';
import type { StripeSimulator } from '../sandbox.js';

channelContractSuite('stripe', { currency: 'USD', payee: 'ba_1ContractSuitePayee', payeeName: 'Contract Suite' });

channelFaultSuite('stripe', {
  currency: 'USD',
  createMatch: { match: '^POST /v1/payment_intents$' },
  queryMatch: { match: '^GET /v1/payment_intents/pi_' },
  // Counted from the simulator's own books: PaymentIntents carrying the order number.
  countOrders: (sandbox, orderNo) => [...(sandbox.channels.stripe.simulator as StripeSimulator).paymentIntents.values()].filter((pi) => (pi.metadata as Record<string, string>).order_no === orderNo).length,
  skip: ['retryQuery', 'rateLimit', 'malformed', 'badSignature', 'missingSignature'],
});
