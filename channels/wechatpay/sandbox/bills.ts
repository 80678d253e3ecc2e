/** Bills: the trade and fund-flow bills of a day, written by the channel's own writers, applied for and downloaded (gzip optional). */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { SimulatorRequest, SimulatorResponse } from '../../../src/sandbox/contract.js';
import type { Router } from '../../../src/sandbox/router.js';
import { writeFundFlowBill, writeTradeBill, type WechatBillRow } from '../bill.js';
import { shanghaiDate, wxError, type Order, type WechatHandler } from './common.js';
import type { WechatpaySimulator } from './index.js';

/** The bill routes. */
export function billRoutes(r: Router<WechatHandler>): void {
  r.get('/v3/bill/tradebill', (sim, req) => applyBill(sim, req, 'trade'));
  r.get('/v3/bill/fundflowbill', (sim, req) => applyBill(sim, req, 'fund'));
  r.get('/v3/billdownload/file', (sim, req) => downloadBill(sim, req));
}

/** The columns a payment row and its refunds' rows share: the order's app, payer, type and product, and the fee rate. */
function orderColumns(sim: WechatpaySimulator, o: Order): Pick<WechatBillRow, 'appId' | 'openid' | 'tradeType' | 'productName' | 'feeRate'> {
  return { appId: o.appid, openid: o.openid, tradeType: o.tradeType, productName: o.description, feeRate: `${(sim.options.feeBps / 100).toFixed(2)}%` };
}

/** The day's money movements as bill rows (UTC+8 day), payments by paid time, refunds by success time. */
export function dayRows(sim: WechatpaySimulator, date: string): WechatBillRow[] {
  const rows: WechatBillRow[] = [];
  for (const o of sim.orders.values()) {
    if (o.paidMs === undefined || shanghaiDate(o.paidMs) !== date) continue;
    rows.push({
      line: 0,
      kind: 'payment',
      orderNo: o.outTradeNo,
      channelTradeNo: o.transactionId,
      transactionId: o.transactionId,
      amountMinor: o.total,
      feeMinor: o.fee,
      currency: o.currency,
      time: new Date(o.paidMs).toISOString(),
      status: 'SUCCESS',
      ...orderColumns(sim, o),
    });
  }
  for (const r of sim.refunds.values()) {
    if (r.status !== 'SUCCESS' || shanghaiDate(r.successMs!) !== date) continue;
    const o = sim.orders.get(r.outTradeNo)!;
    rows.push({
      line: 0,
      kind: 'refund',
      orderNo: r.outTradeNo,
      channelTradeNo: r.refundId,
      transactionId: r.transactionId,
      refundNo: r.outRefundNo,
      amountMinor: -r.refund,
      feeMinor: -r.feeBack,
      currency: 'CNY',
      time: new Date(r.successMs!).toISOString(),
      refundApplyTime: new Date(r.createdMs).toISOString(),
      paidTime: new Date(o.paidMs!).toISOString(),
      status: 'SUCCESS',
      ...orderColumns(sim, o),
    });
  }
  rows.sort((a, b) => a.time.localeCompare(b.time));
  return rows;
}

export async function applyBill(sim: WechatpaySimulator, req: SimulatorRequest, kind: 'trade' | 'fund'): Promise<SimulatorResponse> {
  const date = req.query.get('bill_date') ?? '';
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) throw wxError(400, 'PARAM_ERROR', 'bill_date格式错误，应为yyyy-MM-DD');
  const tar = req.query.get('tar_type');
  if (tar !== null && tar !== 'GZIP') throw wxError(400, 'PARAM_ERROR', 'tar_type仅支持GZIP');
  let rows: WechatBillRow[] = dayRows(sim, date);
  const token = randomBytes(16).toString('hex');
  const path = join(sim.deps.workDir, `bill-${token}.csv`);
  if (kind === 'trade') {
    const type = req.query.get('bill_type') ?? 'ALL';
    if (!['ALL', 'SUCCESS', 'REFUND'].includes(type)) throw wxError(400, 'PARAM_ERROR', 'bill_type参数错误');
    rows = rows.filter((r) => type === 'ALL' || (type === 'SUCCESS' ? r.kind === 'payment' : r.kind === 'refund'));
    if (rows.length === 0) throw wxError(400, 'NO_STATEMENT_EXIST', '当前商户号没有已成功的交易');
    await writeTradeBill(path, rows, { date, merchantId: sim.mchId, variant: type });
  } else {
    const account = req.query.get('account_type') ?? 'BASIC';
    if (!['BASIC', 'OPERATION', 'FEES'].includes(account)) throw wxError(400, 'PARAM_ERROR', 'account_type参数错误');
    const flows = account === 'BASIC' ? [...rows, ...dayTransfers(sim, date)] : [];
    if (flows.length === 0) throw wxError(400, 'NO_STATEMENT_EXIST', '当前账户没有资金流水');
    await writeFundFlowBill(path, flows, { date, merchantId: sim.mchId, variant: 'FUNDFLOW' });
  }
  const plain = await readFile(path);
  sim.bills.set(token, { path, gzip: tar === 'GZIP', expiresMs: sim.deps.clock() + 5 * 60_000 });
  const base = sim.base() || `http://${req.headers.host ?? '127.0.0.1'}`;
  return sim.ok({ hash_type: 'SHA1', hash_value: createHash('sha1').update(plain).digest('hex'), download_url: `${base}/v3/billdownload/file?token=${token}` });
}

export function dayTransfers(sim: WechatpaySimulator, date: string): WechatBillRow[] {
  return [...sim.transfers.values()]
    .filter((t) => t.state === 'SUCCESS' && shanghaiDate(t.updateMs) === date)
    .map((t) => ({ line: 0, kind: 'payout' as const, orderNo: t.outBillNo, channelTradeNo: t.transferBillNo, amountMinor: -t.amount, feeMinor: 0, currency: 'CNY', time: new Date(t.updateMs).toISOString(), status: 'SUCCESS' }));
}

export async function downloadBill(sim: WechatpaySimulator, req: SimulatorRequest): Promise<SimulatorResponse> {
  const bill = sim.bills.get(req.query.get('token') ?? '');
  if (!bill || sim.deps.clock() > bill.expiresMs) throw wxError(400, 'INVALID_REQUEST', '下载链接已过期或不存在，请重新申请');
  const plain = await readFile(bill.path);
  // The file itself is not signed: its integrity comes from the SHA-1 in the signed apply answer.
  return { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: bill.gzip ? gzipSync(plain) : plain };
}
