/**
 * The Alipay channel (OpenAPI gateway, RSA2). This module is what the registry loads; it stays
 * light: the adapter and its wire client load in `create`, iconv-lite only when GBK is met.
 */
import type { ChannelModule } from '../../src/channel/contract.js';
import { lazyBills } from '../../src/channel/lazy.js';
import { alipayCallbacks } from './callback.js';
import { ALIPAY_CONFIG_FIELDS, validateAlipayConfig, type AlipayConfig } from './config.js';

const alipay: ChannelModule<AlipayConfig> = {
  id: 'alipay',
  description: {
    id: 'alipay',
    name: 'Alipay OpenAPI',
    version: '1.0.0',
    capabilities: ['collect', 'queryCollect', 'closeCollect', 'refund', 'queryRefund', 'payout', 'queryPayout', 'balance', 'verifyCallback', 'readBill', 'downloadBill'],
    config: ALIPAY_CONFIG_FIELDS,
    timeZone: 'Asia/Shanghai',
    methods: ['qr', 'page', 'wap'],
  },
  validateConfig: validateAlipayConfig,
  async create(config, deps) {
    const { AlipayAdapter } = await import('./adapter.js');
    return new AlipayAdapter(config, deps);
  },
  callback: alipayCallbacks,
  bill: lazyBills(() => import('./bill.js').then((m) => m.alipayBills)),
};

export default alipay;
