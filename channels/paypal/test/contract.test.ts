/**
 * The shared channel suites against the PayPal simulator: the lifecycle through the command
 * functions (the payer approves, `pay query` captures), and injected faults through the real
 * binary (`npm run build` first).
 *
 * Skipped fault steps, and where they are covered instead (faults.test.ts): PayPal reads an order
 * by its own id, so a query's URL never carries our order number, which the suite's request
 * matching for retryQuery, rateLimit and malformed relies on; and PayPal's API answers are not
 * signed, so there is no response signature to spoil.
 */
import { channelContractSuite, channelFaultSuite } from '../../../test/helpers/contract-suite.js';
import type { PaypalSimulator } from '../sandbox.js';

channelContractSuite('paypal', { currency: 'USD', payee: 'supplier.contract@example.com', payeeName: 'Contract Suite' });

channelFaultSuite('paypal', {
  currency: 'USD',
  createMatch: { match: '^POST /v2/checkout/orders$' },
  queryMatch: { match: '^GET /v2/checkout/orders/' },
  // Counted from the simulator's own books: orders whose invoice_id is the order number.
  countOrders: (sandbox, orderNo) =>
    [...(sandbox.channels.paypal.simulator as PaypalSimulator).orders.values()].filter((o) => (o.purchase_units as Record<string, unknown>[])[0].invoice_id === orderNo).length,
  skip: ['retryQuery', 'rateLimit', 'malformed', 'badSignature', 'missingSignature'],
});
