/**
 * The shared contract and fault suites proven on the test-only testpay channel (a real HTTP
 * protocol with signed answers, served by the sandbox framework), so a failure in a real
 * channel's run points at the channel, not at the suites.
 */
import { join } from 'node:path';
import { channelContractSuite, channelFaultSuite } from '../helpers/contract-suite.js';
import { simulator } from '../helpers/testpay/sandbox.mjs';

const module = join(__dirname, '..', 'helpers', 'testpay', 'index.mjs');

channelContractSuite('testpay', { module, simulators: { testpay: simulator } });

channelFaultSuite('testpay', {
  module,
  simulators: { testpay: simulator },
  createMatch: { match: '^POST /v1/orders$' },
  queryMatch: { match: '^GET /v1/orders/' },
  refundMatch: { match: '^POST /v1/refunds$' },
  // Counted from the simulator's own books (orders by merchant number).
  countOrders: (sandbox, orderNo) => ((sandbox.channels.testpay.simulator as unknown as { orders: Map<string, unknown> }).orders.has(orderNo) ? 1 : 0),
});
