// The issue 6 reconciliation scenario on Alipay's trade bill, as downloaded (GBK zip), plus the
// zip-specific bad input: an archive without the detail CSV.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPayJson, tempDir } from '../helpers/cli.js';
import { reconcileE2E } from '../helpers/reconcile-e2e.js';
import { zipOf } from '../helpers/zip.js';

reconcileE2E({ channel: 'alipay', billName: 'bill.csv.zip', tradeNo: (orderNo) => `2026112222001${orderNo.slice(-6)}00000` });
reconcileE2E({ channel: 'alipay', title: 'pay reconcile: alipay (read on a worker thread)', billName: 'bill.csv.zip', lite: true, env: { PAY_READ_WORKER: '1' }, tradeNo: (orderNo) => `2026112222001${orderNo.slice(-6)}00000` });

describe('pay reconcile: alipay zip without the detail CSV', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    tmp = tempDir('pay-reconcile-alipay-');
  });
  afterAll(() => tmp.cleanup());

  it('exits 2 and saves nothing', async () => {
    const zip = join(tmp.dir, '20880211096256330156_20261122.csv.zip');
    const summary = iconv.encode('#支付宝业务汇总查询\n#账号：[20880211096256330156]\n', 'gbk');
    writeFileSync(zip, await zipOf({ '20880211096256330156_20261122_业务明细(汇总).csv': summary, 'readme.txt': new TextEncoder().encode('no detail here') }));
    const db = join(tmp.dir, 'pay.db');
    const r = await runPayJson(['--db', db, 'reconcile', '--channel', 'alipay', '--date', '2026-11-22', '--bill', zip]);
    expect(r.code, r.stdout).toBe(2);
    expect(r.json.error.code).toBe('INVALID_REQUEST');
    const h = await runPayJson(['--db', db, 'reconcile', 'history']);
    expect(h.json.runs).toEqual([]);
  });
});
