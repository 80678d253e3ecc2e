// The issue 6 reconciliation scenario on PayPal's statements: the settlement report (STL) and the
// transactions (JSON lines) downloadBill saves.
import { reconcileE2E } from '../helpers/reconcile-e2e.js';

const tradeNo = (orderNo: string) => `9PP${orderNo.slice(-6)}X${orderNo.length}`;
const refundTradeNo = (refundNo: string) => `1RF${refundNo.slice(-6)}Y${refundNo.length}`;

reconcileE2E({ channel: 'paypal', currency: 'USD', billName: 'STL-20261122.01.009.CSV', tradeNo, refundTradeNo });
reconcileE2E({ channel: 'paypal', title: 'pay reconcile: paypal (transactions)', lite: true, currency: 'USD', billName: 'transactions.jsonl', variant: 'transactions', tradeNo, refundTradeNo });
// UTF-16 STL: the amount-corruption step edits bytes as ASCII, so it is left to the UTF-8 variant.
reconcileE2E({ channel: 'paypal', title: 'pay reconcile: paypal (STL in UTF-16)', lite: true, currency: 'USD', billName: 'STL-20261122.01.009.u16.CSV', variant: 'stl-utf16', tradeNo, refundTradeNo, corruptAmount: false });
