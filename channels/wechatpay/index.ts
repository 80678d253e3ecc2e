/**
 * The WeChat Pay channel (API v3; v2 XML notifications verified offline). This module is what
 * the registry loads; it stays light: the adapter loads in `create`.
 */
import type { ChannelModule } from '../../src/channel/contract.js';
import { lazyBills } from '../../src/channel/lazy.js';
import { wechatpayCallbacks } from './callback.js';
import { validateWechatpayConfig, WECHATPAY_CONFIG_FIELDS, type WechatpayConfig } from './config.js';

const wechatpay: ChannelModule<WechatpayConfig> = {
  id: 'wechatpay',
  description: {
    id: 'wechatpay',
    name: 'WeChat Pay (API v3)',
    version: '1.0.0',
    capabilities: ['collect', 'queryCollect', 'closeCollect', 'refund', 'queryRefund', 'payout', 'queryPayout', 'balance', 'verifyCallback', 'readBill', 'downloadBill'],
    config: WECHATPAY_CONFIG_FIELDS,
    timeZone: 'Asia/Shanghai',
    methods: ['native', 'jsapi', 'h5'],
    methodAliases: { qr: 'native' },
    currencies: ['CNY'],
  },
  validateConfig: validateWechatpayConfig,
  async create(config, deps) {
    const { WechatpayAdapter } = await import('./adapter.js');
    return new WechatpayAdapter(config, deps);
  },
  callback: wechatpayCallbacks,
  bill: lazyBills(() => import('./bill.js').then((m) => m.wechatpayBills)),
};

export default wechatpay;
