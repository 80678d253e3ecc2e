// The issue 6 reconciliation scenario on Alipay's trade bill, as downloaded (GBK zip).
import { reconcileE2E } from '../helpers/reconcile-e2e.js';

reconcileE2E({ channel: 'alipay', billName: 'bill.csv.zip', tradeNo: (orderNo) => `2026112222001${orderNo.slice(-6)}00000` });
