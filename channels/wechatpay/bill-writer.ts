/** Writes WeChat Pay trade and fund-flow bills in the real format (the simulator and tests use it). */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import type { BillRow, WriteBillOptions } from '../../src/channel/contract.js';
import { invalid } from '../../src/core/errors.js';
import { currencyExponent, formatAmount } from '../../src/core/money.js';
import { FEE_EXTRA_DECIMALS, Totals, type WechatBillRow, type WechatBillVariant } from './bill-format.js';

// ---------------------------------------------------------------------------------------------
// Writing

const TRADE_HEADERS: Record<Exclude<WechatBillVariant, 'FUNDFLOW'>, string[]> = {
  ALL: ['交易时间', '公众账号ID', '商户号', '特约商户号', '设备号', '微信订单号', '商户订单号', '用户标识', '交易类型', '交易状态', '付款银行', '货币种类', '应结订单金额', '代金券金额', '微信退款单号', '商户退款单号', '退款金额', '充值券退款金额', '退款类型', '退款状态', '商品名称', '商户数据包', '手续费', '费率', '订单金额', '申请退款金额', '费率备注'],
  SUCCESS: ['交易时间', '公众账号ID', '商户号', '特约商户号', '设备号', '微信订单号', '商户订单号', '用户标识', '交易类型', '交易状态', '付款银行', '货币种类', '应结订单金额', '代金券金额', '商品名称', '商户数据包', '手续费', '费率', '订单金额', '费率备注'],
  REFUND: ['交易时间', '公众账号ID', '商户号', '特约商户号', '设备号', '微信订单号', '商户订单号', '用户标识', '交易类型', '交易状态', '付款银行', '货币种类', '应结订单金额', '代金券金额', '退款申请时间', '退款成功时间', '微信退款单号', '商户退款单号', '退款金额', '充值券退款金额', '退款类型', '退款状态', '商品名称', '商户数据包', '手续费', '费率', '订单金额', '申请退款金额', '费率备注'],
};
const TRADE_SUMMARY = ['总交易单数', '应结订单总金额', '退款总金额', '充值券退款总金额', '手续费总金额', '订单总金额', '申请退款总金额'];
const FUND_HEADER = ['记账时间', '微信支付业务单号', '资金流水单号', '业务名称', '业务类型', '收支类型', '收支金额(元)', '账户结余(元)', '资金变更提交申请人', '备注', '业务凭证号'];
const FUND_SUMMARY = ['资金流水总笔数', '收入笔数', '收入金额', '支出笔数', '支出金额'];

/** `2021-01-28 17:07:11` in UTC+8. */
function wall(isoOrMs: string | number): string {
  const ms = typeof isoOrMs === 'number' ? isoOrMs : Date.parse(isoOrMs);
  return new Date(ms + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');
}

/** A line writer with backpressure, optionally gzip; lines are batched (zlib is slow on tiny chunks). */
async function lineSink(path: string, gzip: boolean) {
  const file = createWriteStream(path);
  const out = gzip ? createGzip() : file;
  if (gzip) out.pipe(file);
  const failed = new Promise<never>((_, reject) => {
    file.once('error', reject);
    out.once('error', reject);
  });
  failed.catch(() => {});
  let batch: string[] = [];
  let size = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const chunk = batch.join('');
    batch = [];
    size = 0;
    if (!out.write(chunk)) await Promise.race([once(out, 'drain'), failed]);
  };
  return {
    async write(line: string) {
      batch.push(line, '\n');
      size += line.length + 1;
      if (size >= 64 * 1024) await flush();
    },
    async end() {
      await flush();
      out.end();
      await Promise.race([once(file, 'finish'), failed]);
    },
  };
}

const row = (cells: string[]) => cells.map((v) => `\`${v}`).join(',');

/** Writes a trade bill (ALL, SUCCESS or REFUND) in the real format; gzip when the path ends in .gz. */
export async function writeTradeBill(path: string, rows: Iterable<WechatBillRow>, options: WriteBillOptions & { variant?: string }): Promise<number> {
  const variant = (options.variant ?? 'ALL').toUpperCase() as Exclude<WechatBillVariant, 'FUNDFLOW'>;
  const header = TRADE_HEADERS[variant];
  if (!header) throw invalid(`unknown WeChat Pay bill variant ${options.variant}; use ALL, SUCCESS, REFUND or FUNDFLOW`);
  const sink = await lineSink(path, /\.gz(ip)?$/i.test(path));
  await sink.write(header.join(','));
  const mch = options.merchantId ?? '';
  let count = 0;
  let currency = 'CNY';
  const sum = new Totals();
  for (const r of rows) {
    if (r.kind !== 'payment' && r.kind !== 'refund') throw invalid(`a trade bill has payment and refund rows only, not ${r.kind}; write it as variant FUNDFLOW`);
    // The variants are views: SUCCESS lists payments, REFUND lists refunds, ALL both.
    if ((variant === 'SUCCESS' && r.kind !== 'payment') || (variant === 'REFUND' && r.kind !== 'refund')) continue;
    currency = r.currency;
    const exp = currencyExponent(currency);
    const money = (v: number) => formatAmount(v, currency);
    const fee5 = r.feeMinor * 10 ** FEE_EXTRA_DECIMALS;
    const feeText = formatAmount(fee5, currency, { [currency]: exp + FEE_EXTRA_DECIMALS });
    const refund = r.kind === 'refund';
    const amount = Math.abs(r.amountMinor);
    const v: Record<string, string> = {
      交易时间: wall(refund && variant === 'REFUND' ? (r.paidTime ?? r.time) : r.time),
      公众账号ID: r.appId ?? '',
      商户号: mch,
      特约商户号: '0',
      设备号: '',
      微信订单号: (refund ? r.transactionId : (r.transactionId ?? r.channelTradeNo)) ?? '',
      商户订单号: r.orderNo ?? '',
      用户标识: r.openid ?? '',
      交易类型: r.tradeType ?? 'NATIVE',
      交易状态: refund ? 'REFUND' : (r.status ?? 'SUCCESS'),
      付款银行: 'OTHERS',
      货币种类: currency,
      应结订单金额: money(refund ? 0 : amount),
      代金券金额: money(0),
      退款申请时间: refund ? wall(r.refundApplyTime ?? r.time) : '',
      退款成功时间: refund ? wall(r.time) : '',
      微信退款单号: refund ? (r.channelTradeNo ?? '') : '0',
      商户退款单号: refund ? (r.refundNo ?? '') : '0',
      退款金额: money(refund ? amount : 0),
      充值券退款金额: money(0),
      退款类型: refund ? 'ORIGINAL' : '',
      退款状态: refund ? (r.status ?? 'SUCCESS') : '',
      商品名称: r.productName ?? '',
      商户数据包: '',
      手续费: feeText,
      费率: r.feeRate ?? '0.60%',
      订单金额: money(refund ? 0 : amount),
      申请退款金额: money(refund ? amount : 0),
      费率备注: '',
    };
    await sink.write(row(header.map((h) => v[h])));
    count++;
    sum.add('应结', refund ? 0 : amount);
    sum.add('退款', refund ? amount : 0);
    sum.add('手续费', fee5);
  }
  const exp = currencyExponent(currency);
  await sink.write(TRADE_SUMMARY.join(','));
  await sink.write(
    row([
      String(count),
      formatAmount(sum.get('应结'), currency),
      formatAmount(sum.get('退款'), currency),
      formatAmount(0, currency),
      formatAmount(sum.get('手续费'), currency, { [currency]: exp + FEE_EXTRA_DECIMALS }),
      formatAmount(sum.get('应结'), currency),
      formatAmount(sum.get('退款'), currency),
    ]),
  );
  await sink.end();
  return count;
}

/**
 * Writes a fund-flow bill. A payment or refund row with a fee gets a separate 扣除交易手续费 row
 * (fees leave the account as their own movements); the balance column starts at the smallest
 * opening balance that keeps it from going negative.
 */
export async function writeFundFlowBill(path: string, rows: Iterable<BillRow>, options: WriteBillOptions): Promise<number> {
  interface Entry {
    row: BillRow;
    name: string;
    type: string;
    signed: number;
    voucher: string;
    note: string;
  }
  const entries: Entry[] = [];
  for (const r of rows) {
    const money = (v: number) => formatAmount(Math.abs(v), r.currency);
    if (r.kind === 'payment') entries.push({ row: r, name: '交易', type: '交易', signed: r.amountMinor, voucher: r.orderNo ?? '', note: '' });
    else if (r.kind === 'refund') {
      entries.push({ row: r, name: '退款', type: '退款', signed: r.amountMinor, voucher: r.refundNo ?? '', note: `退款总金额${money(r.amountMinor)}元;含手续费${money(r.feeMinor)}元` });
    } else if (r.kind === 'payout') entries.push({ row: r, name: '商家转账', type: '企业付款', signed: r.amountMinor, voucher: r.orderNo ?? '', note: '' });
    else if (r.kind === 'fee') entries.push({ row: r, name: '扣除交易手续费', type: '手续费', signed: -r.feeMinor, voucher: r.orderNo ?? '', note: '' });
    else entries.push({ row: r, name: '其他', type: '其他', signed: r.amountMinor, voucher: r.orderNo ?? '', note: '' });
    if ((r.kind === 'payment' || r.kind === 'refund') && r.feeMinor !== 0) {
      entries.push({ row: r, name: '扣除交易手续费', type: '手续费', signed: -r.feeMinor, voucher: r.orderNo ?? r.refundNo ?? '', note: '' });
    }
  }
  let running = 0;
  let lowest = 0;
  for (const e of entries) {
    running += e.signed;
    lowest = Math.min(lowest, running);
  }
  let balance = -lowest;
  const sink = await lineSink(path, /\.gz(ip)?$/i.test(path));
  await sink.write(FUND_HEADER.join(','));
  let i = 0;
  let inCount = 0;
  let inSum = 0;
  let outCount = 0;
  let outSum = 0;
  const applicant = `${options.merchantId ?? ''}API`;
  for (const e of entries) {
    i++;
    balance += e.signed;
    const cur = e.row.currency;
    if (e.signed >= 0) {
      inCount++;
      inSum += e.signed;
    } else {
      outCount++;
      outSum -= e.signed;
    }
    await sink.write(
      row([
        wall(e.row.time),
        e.row.channelTradeNo ?? '',
        `${options.date.replace(/-/g, '')}${String(i).padStart(20, '0')}`,
        e.name,
        e.type,
        e.signed >= 0 ? '收入' : '支出',
        formatAmount(Math.abs(e.signed), cur),
        formatAmount(balance, cur),
        applicant,
        e.note,
        e.voucher,
      ]),
    );
  }
  await sink.write(FUND_SUMMARY.join(','));
  await sink.write(row([String(entries.length), String(inCount), formatAmount(inSum, 'CNY'), String(outCount), formatAmount(outSum, 'CNY')]));
  await sink.end();
  return entries.length;
}
