/** Writes Alipay trade bills as the download serves them (the simulator and tests use it). */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { BillRow, WriteBillOptions } from '../../src/channel/contract.js';
import { writeZip } from '../../src/channel/zip.js';
import { invalid } from '../../src/core/errors.js';
import { formatAmount } from '../../src/core/money.js';
import { isoUtc, parseDate, wallTimeToUtc } from '../../src/core/time.js';
import { utcToBeijing } from './beijing-time.js';

import { CURRENCY, type DetailTotals } from './bill-reader.js';

// ---------------------------------------------------------------------------------------------
// Writing

/** The detail header of the 2019-onwards trade bill (the layout of the published samples). */
export const DETAIL_HEADER = [
  '支付宝交易号', '商户订单号', '业务类型', '商品名称', '创建时间', '完成时间', '门店编号', '门店名称', '操作员', '终端号', '对方账户',
  '订单金额（元）', '商家实收（元）', '支付宝红包（元）', '集分宝（元）', '支付宝优惠（元）', '商家优惠（元）', '券核销金额（元）', '券名称',
  '商家红包消费金额（元）', '卡消费金额（元）', '退款批次号/请求号', '服务费（元）', '分润（元）', '备注',
];

const SUMMARY_HEADER = ['门店编号', '门店名称', '交易订单总笔数', '退款订单总笔数', '订单金额（元）', '商家实收（元）', '支付宝优惠（元）', '商家优惠（元）', '卡消费金额（元）', '服务费（元）', '分润（元）', '实收净额（元）'];

/** The account Alipay prints for a merchant PID (`2088…` + `0156`). */
export function billAccount(merchantId: string | undefined): string {
  if (!merchantId) return '20880000000000000156';
  return /^2088\d{12}$/.test(merchantId) ? `${merchantId}0156` : merchantId;
}

function chineseDate(date: string, time = '00:00:00'): string {
  return `${date.slice(0, 4)}年${date.slice(5, 7)}月${date.slice(8, 10)}日 ${time}`;
}

function nextDay(date: string): string {
  return isoUtc(Date.parse(`${date}T00:00:00Z`) + 86_400_000).slice(0, 10);
}

function headerBlock(title: string, account: string, date: string, list: string): string[] {
  return [
    `#${title}`,
    `#账号：[${account}]`,
    `#起始日期：[${chineseDate(date)}]   终止日期：[${chineseDate(nextDay(date))}]`,
    `#-----------------------------------------${list}----------------------------------------`,
  ];
}

/** The detail CSV lines for `rows` (Alipay's cells, trailing tabs included). */
function* detailLines(rows: Iterable<BillRow>, account: string, date: string, totals: DetailTotals & { fees: number; net: number }): Generator<string> {
  yield* headerBlock('支付宝业务明细查询', account, date, '业务明细列表');
  yield DETAIL_HEADER.join(',');
  for (const r of rows) {
    if (r.currency !== CURRENCY) throw invalid(`an Alipay trade bill is in CNY; row for ${r.orderNo ?? r.channelTradeNo ?? '?'} is in ${r.currency}`);
    if (r.kind !== 'payment' && r.kind !== 'refund') throw invalid(`an Alipay trade bill holds payments and refunds only, not ${r.kind} rows`);
    const refund = r.kind === 'refund';
    const amount = refund ? -Math.abs(r.amountMinor) : Math.abs(r.amountMinor);
    // Alipay prints the fee as a deduction on payments and a give-back on refunds.
    const fee = refund ? Math.abs(r.feeMinor) : -Math.abs(r.feeMinor);
    const wall = utcToBeijing(Date.parse(r.time));
    const a = formatAmount(amount, CURRENCY);
    if (refund) {
      totals.refunds++;
      totals.refundReceived += amount;
    } else {
      totals.payments++;
      totals.paymentReceived += amount;
    }
    totals.fees += fee;
    totals.net += amount;
    yield [
      `${r.channelTradeNo ?? ''}\t`, `${r.orderNo ?? ''}\t`, `${refund ? '退款' : '交易'}\t`, '', wall, wall, '\t', '\t', '\t', '\t', '\t',
      a, a, '0.00', '0.00', '0.00', '0.00', '0.00', '', '0.00\t', '0.00', `${refund ? (r.refundNo ?? '') : ''}\t`, formatAmount(fee, CURRENCY), '0.00', '',
    ].join(',');
  }
  yield '#-----------------------------------------业务明细列表结束------------------------------------';
  yield `#交易合计：${totals.payments}笔，商家实收共${formatAmount(totals.paymentReceived, CURRENCY)}元，商家优惠共0.00元`;
  yield `#退款合计：${totals.refunds}笔，商家实收退款共${formatAmount(totals.refundReceived, CURRENCY)}元，商家优惠退款共0.00元`;
  yield `#导出时间：[${chineseDate(nextDay(date), '05:00:00')}]`;
}

function summaryLines(account: string, date: string, t: DetailTotals & { fees: number; net: number }): string[] {
  const net = formatAmount(t.net, CURRENCY);
  const cells = [String(t.payments), String(t.refunds), net, net, '0.00', '0.00', '0.00', formatAmount(t.fees, CURRENCY), '0.00', formatAmount(t.net + t.fees, CURRENCY)];
  return [
    ...headerBlock('支付宝业务汇总查询', account, date, '业务汇总列表'),
    SUMMARY_HEADER.join(','),
    ['\t', '\t', ...cells].join(','),
    ['合计', '', ...cells].join(','),
    '#----------------------------------------业务汇总列表结束-------------------------------------',
    `#导出时间：[${chineseDate(nextDay(date), '05:00:00')}]`,
  ];
}

/** Batches lines into encoded chunks (~64 KiB) so encoding stays cheap per row. */
async function* encodeLines(lines: Iterable<string>, encode: (s: string) => Buffer): AsyncGenerator<Buffer> {
  let batch = '';
  for (const l of lines) {
    batch += `${l}\n`;
    if (batch.length >= 32_768) {
      yield encode(batch);
      batch = '';
    }
  }
  if (batch) yield encode(batch);
}

/**
 * Writes `rows` as an Alipay trade bill for `options.date`: variant `zip` (the download: GBK
 * detail + summary entries with GBK names; the default for a `.zip` path), `csv` (the GBK detail
 * CSV; the default otherwise) or `csv-utf8`.
 */
export async function writeAlipayBill(path: string, rows: Iterable<BillRow>, options: WriteBillOptions): Promise<void> {
  const date = parseDate(options.date);
  const variant = options.variant ?? (path.toLowerCase().endsWith('.zip') ? 'zip' : 'csv');
  if (variant !== 'zip' && variant !== 'csv' && variant !== 'csv-utf8') throw invalid(`unknown Alipay bill variant "${variant}" (zip, csv or csv-utf8)`);
  const account = billAccount(options.merchantId);
  const totals = { payments: 0, refunds: 0, paymentReceived: 0, refundReceived: 0, fees: 0, net: 0 };
  const utf8 = (s: string) => Buffer.from(s, 'utf8');
  const encode = variant === 'csv-utf8' ? utf8 : await gbkEncoder();
  if (variant !== 'zip') {
    const out = createWriteStream(path);
    try {
      for await (const chunk of encodeLines(detailLines(rows, account, date, totals), encode)) {
        if (!out.write(chunk)) await once(out, 'drain');
      }
    } finally {
      out.end();
      await once(out, 'close');
    }
    return;
  }
  const stamp = date.replaceAll('-', '');
  await writeZip(
    path,
    [
      { name: encode(`${account}_${stamp}_业务明细.csv`), data: encodeLines(detailLines(rows, account, date, totals), encode) },
      // Produced after the detail entry is written, when the totals are known.
      { name: encode(`${account}_${stamp}_业务明细(汇总).csv`), data: (async function* () { yield* encodeLines(summaryLines(account, date, totals), encode); })() },
    ],
    wallTimeToUtc(`${nextDay(date)} 05:00:00`, 'UTC'),
  );
}

async function gbkEncoder(): Promise<(s: string) => Buffer> {
  const iconv = (await import('iconv-lite')).default;
  return (s) => iconv.encode(s, 'gbk');
}

/** The zip's file name as Alipay's download names it (`<account>_<yyyymmdd>.csv.zip`). */
export function billFileName(merchantId: string | undefined, date: string): string {
  return `${billAccount(merchantId)}_${date.replaceAll('-', '')}.csv.zip`;
}

/** Alipay's bill reader and writer. */
