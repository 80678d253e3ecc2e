/** The file transfer (fileTransfer.do, txnType 76): the day's bill zip written by the channel's own writer. */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import type { BillRow } from '../../../src/channel/contract.js';
import { isoUtc } from '../../../src/core/time.js';
import { beijingDate } from '../wire-time.js';
import { billFileNames, writeUnionPayBill } from '../bill.js';
import { Refusal, OK_MSG } from './common.js';
import type { UnionPaySimulator } from './index.js';
import { fee, need } from './transactions.js';

/** Rows of the reconciliation file for a Beijing calendar date. */
export function billRows(sim: UnionPaySimulator, date: string): BillRow[] {
  const rows: BillRow[] = [];
  for (const o of sim.orders.values()) {
    if (o.status !== 'paid' || beijingDate(o.paidMs!) !== date) continue;
    rows.push({ line: 0, orderNo: o.orderId, channelTradeNo: o.queryId, kind: 'payment', amountMinor: o.amount, feeMinor: fee(sim, o.amount), currency: 'CNY', time: isoUtc(o.paidMs!) });
  }
  const now = sim.now();
  for (const r of sim.refunds.values()) {
    if (r.settleMs > now || beijingDate(r.settleMs) !== date) continue;
    rows.push({ line: 0, orderNo: r.origOrderId, refundNo: r.orderId, channelTradeNo: r.origQryId, kind: 'refund', amountMinor: -r.amount, feeMinor: r.fee, currency: 'CNY', time: isoUtc(r.settleMs) });
  }
  return rows.sort((a, b) => a.time.localeCompare(b.time));
}

export async function file(sim: UnionPaySimulator, f: Record<string, string>): Promise<Record<string, string>> {
  if (f.txnType !== '76') throw new Refusal('10', `报文格式错误 [txnType ${f.txnType} on file transfer]`);
  need(f, 'settleDate', 'txnTime', 'fileType');
  if (!/^\d{4}$/.test(f.settleDate)) throw new Refusal('10', '报文格式错误 [settleDate]');
  const today = beijingDate(sim.now());
  // MMDD names the most recent such date that is not in the future.
  let year = Number(today.slice(0, 4));
  if (`${year}-${f.settleDate.slice(0, 2)}-${f.settleDate.slice(2)}` > today) year--;
  const date = `${year}-${f.settleDate.slice(0, 2)}-${f.settleDate.slice(2)}`;
  const base = { version: f.version, encoding: 'UTF-8', bizType: f.bizType ?? '000000', txnType: '76', txnSubType: f.txnSubType ?? '01', accessType: '0', merId: sim.merId, txnTime: f.txnTime, settleDate: f.settleDate, fileType: f.fileType };
  if (Number.isNaN(Date.parse(`${date}T00:00:00Z`))) return { ...base, respCode: '98', respMsg: '文件不存在' };
  const names = billFileNames(date, sim.merId);
  const path = join(sim.deps.workDir, `${names.zip}.${randomBytes(4).toString('hex')}`);
  try {
    await writeUnionPayBill(path, billRows(sim, date), { date, merchantId: sim.merId });
    const zip = await readFile(path);
    return { ...base, respCode: '00', respMsg: OK_MSG, fileName: names.zip, fileContent: deflateSync(zip).toString('base64') };
  } finally {
    await rm(path, { force: true });
  }
}
