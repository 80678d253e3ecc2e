// The issue 6 reconciliation scenario on Alipay's detail CSV (GBK), the text inside the zip.
import { reconcileE2E } from '../helpers/reconcile-e2e.js';

reconcileE2E({ channel: 'alipay', title: 'pay reconcile: alipay (detail CSV)', billName: 'bill.csv', variant: 'csv', lite: true, tradeNo: (orderNo) => `2026112222001${orderNo.slice(-6)}00000` });
