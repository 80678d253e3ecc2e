// The issue 6 reconciliation scenario on Stripe's statements: the itemized balance report CSV and
// the balance transactions (JSON lines) downloadBill saves.
import { reconcileE2E } from '../helpers/reconcile-e2e.js';

reconcileE2E({ channel: 'stripe', currency: 'USD', billName: 'itemized.csv', variant: 'itemized', tradeNo: (o) => `ch_${o}` , refundTradeNo: (r) => `re_${r}` });
reconcileE2E({ channel: 'stripe', title: 'pay reconcile: stripe (balance transactions)', lite: true, currency: 'USD', billName: 'balance.jsonl', variant: 'balance-transactions', tradeNo: (o) => `ch_${o}`, refundTradeNo: (r) => `re_${r}` });
