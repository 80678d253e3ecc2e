// The issue 6 reconciliation scenario on UnionPay's reconciliation file (zip with the ZM detail).
import { reconcileE2E } from '../helpers/reconcile-e2e.js';

reconcileE2E({ channel: 'unionpay', billName: 'bill.zip', merchantId: '777290058110048' });
