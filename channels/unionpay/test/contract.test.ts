/**
 * The shared channel suites against the UnionPay simulator: the lifecycle through the command
 * functions, and injected faults through the real binary (`npm run build` first). Both use the
 * app method (appTransReq.do): the web method makes no call from pay (the payer's browser posts the
 * form), so its flow is tested in adapter.test.ts. UnionPay's online gateway has no payout or
 * balance API, and its reconciliation file lists payments and refunds.
 */
import { channelContractSuite, channelFaultSuite } from '../../../test/helpers/contract-suite.js';
import type { UnionPaySimulator } from '../sandbox/index.js';

channelContractSuite('unionpay', { currency: 'CNY', method: 'app', skip: ['payout', 'balance'], billKinds: ['payment', 'refund'] });

channelFaultSuite('unionpay', {
  currency: 'CNY',
  method: 'app',
  createMatch: { match: '^POST /gateway/api/appTransReq\\.do' },
  queryMatch: { match: '^POST /gateway/api/queryTrans\\.do' },
  refundMatch: { match: '^POST /gateway/api/backTransReq\\.do' },
  signatureCodes: ['SIGNATURE_INVALID'],
  // Counted from the simulator's own books (a consume sent again for the same orderId is refused with 12).
  countOrders: (sandbox, orderNo) => ((sandbox.channels.unionpay.simulator as UnionPaySimulator).orders.has(orderNo) ? 1 : 0),
});
