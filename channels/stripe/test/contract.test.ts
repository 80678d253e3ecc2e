/**
 * The shared channel suites against the Stripe simulator: the lifecycle through the command
 * functions, and injected faults through the real binary (`npm run build` first).
 *
 * Stripe retrieves a PaymentIntent by its pi_ id, never our order number: the suite finds the
 * query by the id the create returned. Skipped fault steps: malformed, covered with more in
 * faults.test.ts (the paid state in the answer is not applied, and a later query picks it up);
 * and Stripe's API answers are not signed (TLS is the integrity check), so there is no response
 * signature to spoil.
 */
import { channelContractSuite, channelFaultSuite } from '../../../test/helpers/contract-suite.js';
import type { StripeSimulator } from '../sandbox/index.js';

channelContractSuite('stripe', { currency: 'USD', payee: 'ba_1ContractSuitePayee', payeeName: 'Contract Suite' });

channelFaultSuite('stripe', {
  currency: 'USD',
  createMatch: { match: '^POST /v1/payment_intents$' },
  queryMatch: { match: '^GET /v1/payment_intents/pi_' },
  refundMatch: { match: '^POST /v1/refunds$' },
  // Counted from the simulator's own books: PaymentIntents carrying the order number.
  countOrders: (sandbox, orderNo) => [...(sandbox.channels.stripe.simulator as StripeSimulator).paymentIntents.values()].filter((pi) => (pi.metadata as Record<string, string>).order_no === orderNo).length,
  rateLimitBody: '{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Request rate limit exceeded."}}',
  skip: ['malformed', 'badSignature', 'missingSignature'],
});
