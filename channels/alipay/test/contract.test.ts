/**
 * The shared channel contract and fault suites against the Alipay simulator (lifecycle through
 * the command functions; faults through the built binary: run `npm run build` first).
 */
import { channelContractSuite, channelFaultSuite } from '../../../test/helpers/contract-suite.js';
import type { AlipaySimulator } from '../sandbox/index.js';

// The trade bill lists payments and refunds; transfers are in the account bill, not here.
channelContractSuite('alipay', { currency: 'CNY', billKinds: ['payment', 'refund'] });

channelFaultSuite('alipay', {
  createMatch: { match: '^POST /gateway\\.do', bodyMatch: 'method=alipay\\.trade\\.precreate' },
  queryMatch: { match: '^POST /gateway\\.do', bodyMatch: 'method=alipay\\.trade\\.query' },
  // A fault's match names the OpenAPI method itself (it travels in the form body).
  refundMatch: { match: '^alipay\\.trade\\.refund$' },
  // Counted from the simulator's own books: a precreate sent again for the same number is the same trade.
  countOrders: (sandbox, orderNo) => ((sandbox.channels.alipay.simulator as AlipaySimulator).trades.has(orderNo) ? 1 : 0),
});
