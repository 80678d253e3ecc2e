// The issue 6 reconciliation scenario on a generic CSV bill: a bank statement described by a
// mapping file (semicolons, a preamble, a row-count footer, magnitudes signed by kind, day-first
// times in Beijing time), for a channel id pay has no module for.
import { writeFileSync } from 'node:fs';
import type { BillRow, WriteBillOptions } from '../../src/channel/contract.js';
import { join } from 'node:path';
import { parseMapping } from '../../src/reconcile/mapping.js';
import { mappingBillReader } from '../../src/reconcile/mapping-reader.js';
import { reconcileE2E } from '../helpers/reconcile-e2e.js';

const mappingJson = {
  delimiter: ';',
  skipLines: 2,
  skipFooterLines: 1,
  rowCount: '^Total rows;(\\d+)$',
  columns: {
    'Merchant Ref': 'orderNo',
    'Bank Ref': 'channelTradeNo',
    Type: 'kind',
    'Refund Ref': 'refundNo',
    Amount: 'amount',
    Charges: 'fee',
    Ccy: 'currency',
    'Value Time': 'time',
  },
  kinds: { payment: ['SALE'], refund: ['REFUND'] },
  amountSign: 'kind',
  timeFormat: 'DD/MM/YYYY HH:mm:ss',
  timeZone: 'Asia/Shanghai',
};
const mapping = parseMapping(mappingJson);

const bankAbc = {
  channel: 'bank-abc',
  timeZone: 'Asia/Shanghai',
  writeBill: (path: string, rows: BillRow[], options: WriteBillOptions) => mappingBillReader(mapping).write!(path, rows, options),
  args: (dir: string) => {
    const path = join(dir, 'bank-abc.mapping.json');
    writeFileSync(path, JSON.stringify(mappingJson));
    return ['--mapping', path];
  },
};
reconcileE2E({ ...bankAbc, title: 'pay reconcile: generic CSV with a mapping' });
reconcileE2E({ ...bankAbc, title: 'pay reconcile: generic CSV with a mapping, read on a worker thread', env: { PAY_READ_WORKER: '1' }, lite: true });
