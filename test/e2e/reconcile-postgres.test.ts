// The issue 6 reconciliation scenario through the binary on a PostgreSQL order book (bill and
// books streamed with COPY, matched on the server): the same expectations as on SQLite.
import { describe } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { reconcileE2E } from '../helpers/reconcile-e2e.js';

const postgres = BACKENDS.find((b) => b.name === 'postgres');
const digits = (no: string) => [...no.slice(-6)].map((c) => c.charCodeAt(0) % 10).join('');

describe.skipIf(!postgres)('on PostgreSQL', () => {
  reconcileE2E({
    channel: 'wechatpay',
    title: 'pay reconcile: wechatpay on PostgreSQL',
    backend: postgres,
    billName: 'bill.csv',
    merchantId: '1900000109',
    tradeNo: (orderNo) => `4200001234202611220${digits(orderNo)}000`,
    refundTradeNo: (refundNo) => `50300012342026112200${digits(refundNo)}000`,
  });
  reconcileE2E({ channel: 'alipay', title: 'pay reconcile: alipay on PostgreSQL, read on a worker thread', backend: postgres, billName: 'bill.csv.zip', lite: true, env: { PAY_READ_WORKER: '1' } });
});
