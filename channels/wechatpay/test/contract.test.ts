/**
 * The shared channel suites against the WeChat Pay simulator: the lifecycle through the command
 * functions, and injected faults through the real binary (`npm run build` first). A trade bill
 * lists payments and refunds only (payouts are in the fund-flow bill: see adapter.test.ts).
 */
import { channelContractSuite, channelFaultSuite } from '../../../test/helpers/contract-suite.js';
import type { WechatpaySimulator } from '../sandbox/index.js';

channelContractSuite('wechatpay', { currency: 'CNY', payee: 'oContractPayee0001', payeeName: '合同测试', billKinds: ['payment', 'refund'] });

channelFaultSuite('wechatpay', {
  currency: 'CNY',
  createMatch: { match: '^POST /v3/pay/transactions/native' },
  queryMatch: { match: '^GET /v3/pay/transactions/out-trade-no/' },
  refundMatch: { match: '^POST /v3/refund/domestic/refunds$' },
  // Counted from the simulator's own books: a create sent again for the same number is the same order.
  countOrders: (sandbox, orderNo) => ((sandbox.channels.wechatpay.simulator as WechatpaySimulator).orders.has(orderNo) ? 1 : 0),
});
