// The issue 6 reconciliation scenario on the mock channel's own bill format.
import { reconcileE2E } from '../helpers/reconcile-e2e.js';

reconcileE2E({ channel: 'mock', refundTradeNo: (refundNo) => `MR${refundNo.slice(-6)}` });
