// The issue 6 reconciliation scenario on WeChat Pay's trade bill (ALL), plain and gzip.
import { reconcileE2E } from '../helpers/reconcile-e2e.js';

// WeChat's transaction and refund ids are digits: derive distinct ones from our numbers.
const digits = (no: string) => [...no.slice(-6)].map((c) => c.charCodeAt(0) % 10).join('');
const tradeNo = (orderNo: string) => `4200001234202611220${digits(orderNo)}000`;
const refundTradeNo = (refundNo: string) => `50300012342026112200${digits(refundNo)}000`;

reconcileE2E({ channel: 'wechatpay', billName: 'bill.csv', merchantId: '1900000109', tradeNo, refundTradeNo });
reconcileE2E({ channel: 'wechatpay', title: 'pay reconcile: wechatpay (gzip)', billName: 'bill.csv.gz', merchantId: '1900000109', tradeNo, refundTradeNo });
