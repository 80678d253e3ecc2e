/**
 * The mock channel: an in-process, zero-config stand-in for a payment provider. This module is
 * what the registry loads; it stays light (the adapter and its books load in `create`).
 */
import type { ChannelModule } from '../../src/channel/contract.js';
import { lazyBills } from '../../src/channel/lazy.js';
import { mockCallbacks } from './callback.js';
import { MOCK_CONFIG_FIELDS, validateMockConfig, type MockConfig } from './config.js';

const mock: ChannelModule<MockConfig> = {
  id: 'mock',
  description: {
    id: 'mock',
    name: 'Mock channel (in-process)',
    version: '1.0.0',
    capabilities: ['collect', 'queryCollect', 'closeCollect', 'refund', 'queryRefund', 'payout', 'queryPayout', 'balance', 'verifyCallback', 'readBill', 'downloadBill'],
    config: MOCK_CONFIG_FIELDS,
    timeZone: 'UTC',
    methods: ['qr'],
  },
  validateConfig: validateMockConfig,
  async create(config, deps) {
    const { MockAdapter } = await import('./adapter.js');
    return MockAdapter.create(config, deps);
  },
  callback: mockCallbacks,
  bill: lazyBills(() => import('./bill.js').then((m) => m.mockBills)),
};

export default mock;
