/**
 * The shared channel suites against the PayPal simulator: the lifecycle through the command
 * functions (the payer approves, `pay query` captures), and injected faults through the real
 * binary (`npm run build` first).
 *
 * A PayPal query names PayPal's order id, never our order number: the suite finds it by the id the
 * create returned. Skipped fault steps: malformed, covered with more in faults.test.ts (the paid
 * state in the answer is not applied, and a later query captures); and PayPal's API answers are
 * not signed, so there is no response signature to spoil.
 */
import { channelContractSuite, channelFaultSuite } from '../../../test/helpers/contract-suite.js';
import type { PaypalSimulator } from '../sandbox/index.js';

channelContractSuite('paypal', { currency: 'USD', payee: 'supplier.contract@example.com', payeeName: 'Contract Suite' });

channelFaultSuite('paypal', {
  currency: 'USD',
  createMatch: { match: '^POST /v2/checkout/orders$' },
  queryMatch: { match: '^GET /v2/checkout/orders/' },
  refundMatch: { match: '^POST /v2/payments/captures/[^/]+/refund$' },
  // Counted from the simulator's own books: orders whose invoice_id is the order number.
  countOrders: (sandbox, orderNo) =>
    [...(sandbox.channels.paypal.simulator as PaypalSimulator).orders.values()].filter((o) => (o.purchase_units as Record<string, unknown>[])[0].invoice_id === orderNo).length,
  rateLimitBody: '{"name":"RATE_LIMIT_REACHED","message":"Too many requests. Blocked due to rate limiting."}',
  skip: ['malformed', 'badSignature', 'missingSignature'],
});
