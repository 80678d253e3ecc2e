/** Bills: the day's rows, the download URL query, and the zipped bill served by the channel's own writer. */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BillRow } from '../../../src/channel/contract.js';
import type { SimulatorRequest, SimulatorResponse } from '../../../src/sandbox/contract.js';
import { isoUtc, parseDate } from '../../../src/core/time.js';
import { beijingToUtc } from '../beijing-time.js';
import { billFileName, writeAlipayBill } from '../bill.js';
import { BUSINESS, INVALID, need, type AlipayHandler } from './common.js';
import type { AlipaySimulator } from './index.js';

/** The bill method of the gateway. */
export const billMethods: Record<string, AlipayHandler> = {
  'alipay.data.dataservice.bill.downloadurl.query': (sim, ctx) => billUrl(sim, ctx.biz, ctx.base),
};

/** The day's trade rows (Beijing day): payments when paid, refunds when refunded. */
export function billRows(sim: AlipaySimulator, date: string): BillRow[] {
  const start = beijingToUtc(`${date} 00:00:00`);
  const end = start + 86_400_000;
  const rows: BillRow[] = [];
  for (const t of sim.trades.values()) {
    if (t.paidMs !== undefined && t.paidMs >= start && t.paidMs < end) {
      rows.push({ line: 0, orderNo: t.outTradeNo, channelTradeNo: t.tradeNo, kind: 'payment', amountMinor: t.totalMinor, feeMinor: t.feeMinor, currency: 'CNY', time: isoUtc(t.paidMs), status: 'succeeded' });
    }
    for (const r of t.refunds.values()) {
      if (r.ms >= start && r.ms < end) {
        rows.push({ line: 0, orderNo: t.outTradeNo, channelTradeNo: t.tradeNo, kind: 'refund', refundNo: r.outRequestNo, amountMinor: -r.amountMinor, feeMinor: -r.feeMinor, currency: 'CNY', time: isoUtc(r.ms), status: 'succeeded' });
      }
    }
  }
  return rows.sort((a, b) => a.time.localeCompare(b.time));
}

export async function billUrl(sim: AlipaySimulator, biz: Record<string, unknown>, base: string): Promise<Record<string, unknown>> {
  const type = need(biz, 'bill_type');
  const dateText = need(biz, 'bill_date');
  if (type !== 'trade' && type !== 'signcustomer') throw INVALID('isv.invalid-parameter', 'bill_type不合法');
  let date: string;
  try {
    date = parseDate(dateText);
  } catch {
    throw INVALID('isv.invalid-parameter', 'bill_date格式不正确');
  }
  // Alipay has a day's bill once the day is over in Beijing; the sandbox also serves the day in
  // progress (so far), so a demo can reconcile today, unless `strictBillDays` asks for realism.
  const dayStart = beijingToUtc(`${date} 00:00:00`);
  if (dayStart > sim.now() || (sim.options.strictBillDays && dayStart + 86_400_000 > sim.now())) throw BUSINESS('isp.bill_not_exist', '账单不存在');
  if (type !== 'trade') throw BUSINESS('isp.bill_not_exist', '账单不存在');
  const name = billFileName(sim.sellerId, date);
  const fileId = randomBytes(16).toString('hex');
  const path = join(sim.deps.workDir, `${fileId}.zip`);
  await writeAlipayBill(path, billRows(sim, date), { date, merchantId: sim.sellerId, variant: 'zip' });
  // Alipay's download links are valid for 30 seconds.
  sim.bills.set(fileId, { path, name, expiresMs: sim.now() + 30_000 });
  const q = new URLSearchParams({ bizType: type, userId: sim.sellerId, fileType: 'csv.zip', bizDates: date.replaceAll('-', ''), downloadFileName: name, fileId, timestamp: String(sim.now()), token: randomBytes(16).toString('hex') });
  return { bill_download_url: `${base}/downloadBillFile.resource?${q.toString()}` };
}

export async function serveBill(sim: AlipaySimulator, req: SimulatorRequest): Promise<SimulatorResponse> {
  const bill = sim.bills.get(req.query.get('fileId') ?? '');
  if (!bill || sim.now() > bill.expiresMs) return { status: 404, headers: { 'content-type': 'text/plain;charset=utf-8' }, body: '下载链接已失效' };
  return {
    status: 200,
    headers: { 'content-type': 'application/oct-stream;charset=UTF-8', 'content-disposition': `attachment;filename=${encodeURIComponent(bill.name)}` },
    body: await readFile(bill.path),
  };
}
