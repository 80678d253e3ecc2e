/** Writes UnionPay reconciliation files as the file transfer delivers them (the simulator and tests use it). */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { createHash } from 'node:crypto';
import type { BillRow, WriteBillOptions } from '../../src/channel/contract.js';
import { writeZip } from '../../src/channel/zip.js';
import { invalid } from '../../src/core/errors.js';
import { formatAmount } from '../../src/core/money.js';
import { parseDate } from '../../src/core/time.js';
import { encodeText } from './form.js';
import { toMonthDayTime } from './wire-time.js';
import { digits, emptyTotals, NAME_BY_CURRENCY, WIDTH, ZM_FIELDS, billFileNames, type Totals, type ZmField } from './bill-format.js';

// ---------------------------------------------------------------------------------------------
// Writing

function pad(value: string, width: number, what: string): string {
  if (value.length > width) throw invalid(`${what} "${value}" does not fit the ZM field (${width} characters)`);
  return value.length === width ? value : value.padEnd(width, ' ');
}

const dc = (n: number) => `${n < 0 ? 'D' : 'C'}${digits(Math.abs(n), 12)}`;

/** A stable 21-digit query id for rows that do not carry one (refund rows name the original's). */
function syntheticQueryId(seed: string): string {
  const h = createHash('sha256').update(seed).digest();
  return `9${(h.readBigUInt64BE(0) % 10n ** 20n).toString().padStart(20, '0')}`;
}

const INDEX = Object.fromEntries(ZM_FIELDS.map(([name], i) => [name, i])) as Record<ZmField, number>;

/** A record template: every field blank except those every record written here shares. */
const TEMPLATE: string[] = ZM_FIELDS.map(([, width]) => ' '.repeat(width));
for (const [name, value] of [
  ['acqInsCode', '48020000'],
  ['sendInsCode', '00049992'],
  ['accNo', '622609******0000'],
  ['merCatCode', '5999'],
  ['termType', '07'],
  ['oldPayType', '01'],
  ['payCardType', '01'],
  ['payType', '0001'],
  ['bizType', '000201'],
  ['accType', '01'],
  ['subMerId', '000000000000000'],
  ['subMerAmt', ` ${digits(0, 12)}`],
  ['termId', '00000000'],
  ['discountAmt', ` ${digits(0, 12)}`],
  ['invoiceAmt', ` ${digits(0, 12)}`],
  ['instalFee', ` ${digits(0, 11)}`],
  ['medium', '7'],
] as Array<[ZmField, string]>) {
  TEMPLATE[INDEX[name]] = pad(value, WIDTH[name], name);
}

/** Encodes one row as a ZM record (ASCII, so GBK-safe). */
export function encodeRecord(row: BillRow, index: number, merId: string): string {
  if (row.currency !== 'CNY') throw invalid(`UnionPay reconciliation files are in CNY; row ${index + 1} is ${row.currency}`);
  const refund = row.kind === 'refund';
  const gross = Math.abs(row.amountMinor);
  const net = row.amountMinor - row.feeMinor;
  const t = Date.parse(row.time);
  if (Number.isNaN(t)) throw invalid(`row ${index + 1}: "${row.time}" is not a time`);
  const f = TEMPLATE.slice();
  const set = (name: ZmField, value: string | undefined) => {
    if (value) f[INDEX[name]] = pad(value, WIDTH[name], name);
  };
  set('tradeCode', refund ? 'S30' : 'S56');
  set('traceNo', digits((index % 999_999) + 1, 6));
  set('txnTime', toMonthDayTime(t));
  set('txnAmt', digits(gross, 12));
  set('queryId', refund ? syntheticQueryId(`${row.refundNo ?? ''}:${index}`) : (row.channelTradeNo ?? syntheticQueryId(`${row.orderNo ?? ''}:${index}`)));
  set('orderId', refund ? row.refundNo : row.orderNo);
  set('merFee', dc(-row.feeMinor));
  set('settleAmt', dc(net));
  set('txnType', refund ? '04' : row.kind === 'payment' ? '01' : '99');
  set('txnSubType', refund ? '00' : '01');
  set('merId', merId);
  set('netAmt', dc(net));
  if (refund) {
    set('origQryId', row.channelTradeNo);
    set('origOrderId', row.orderNo);
  }
  const line = f.join(' ');
  if (/[^\x20-\x7e]/.test(line)) throw invalid(`row ${index + 1} has characters a ZM record cannot hold (order numbers are ASCII)`);
  return line;
}

function rdLine(label: string, count: number, t: Omit<Totals, 'count'>, currency: string): string {
  const m = (n: number) => formatAmount(n, currency).padStart(16);
  // Label padded to 20 display columns (a CJK character takes two).
  const labelWidth = [...label].reduce((w, c) => w + (c.charCodeAt(0) > 0xff ? 2 : 1), 0);
  return `${label}${' '.repeat(Math.max(1, 20 - labelWidth))}${String(count).padStart(8)}${m(t.amountDebit)}${m(t.amountCredit)}${m(t.feeDebit)}${m(t.feeCredit)}${m(t.netDebit)}${m(t.netCredit)}`;
}

/** Renders the RD summary for totals by transaction type. */
export function renderRd(info: { merId: string; date: string; currency: string; generated: string; byType: Array<[string, Totals]>; total: Totals }): string {
  const rule = '_'.repeat(136);
  const header = ['交易类型            交易笔数               交易金额                         费用                              资金清算差额', '                                         借              贷              借              贷               借                  贷'];
  const cardHeader = header[0].replace('交易类型', '卡性质  ');
  const cards = [['借记卡', emptyTotals()], ['贷记卡', emptyTotals()], ['准贷记卡', emptyTotals()], ['其他卡', info.total]] as Array<[string, Totals]>;
  const out = [
    `${' '.repeat(73)}中国银联全渠道商户交易汇总表`,
    '',
    `商户代码:${info.merId}${' '.repeat(40)}清算币种:${NAME_BY_CURRENCY[info.currency] ?? info.currency}`,
    `收单机构:48020000${' '.repeat(47)}清算日期:${info.date.replace(/-/g, '')}`,
    `商户名称:pay sandbox${' '.repeat(44)}生成日期:${info.generated.replace(/-/g, '')}`,
    '',
    '',
    ...header,
    rule,
    ...info.byType.map(([label, t]) => rdLine(label, t.count, t, info.currency)),
    rule,
    rdLine('总计', info.total.count, info.total, info.currency),
    '',
    cardHeader,
    header[1],
    rule,
    ...cards.map(([label, t]) => rdLine(label, t.count, t, info.currency)),
    rule,
    rdLine('总计', info.total.count, info.total, info.currency),
    '',
  ];
  return out.join('\r\n');
}

/**
 * Writes `rows` as UnionPay delivers them: variant `zip` (default) is the archive with the ZM
 * detail file and the RD summary; `zm` is the bare detail file.
 */
export async function writeUnionPayBill(path: string, rows: BillRow[], options: WriteBillOptions): Promise<void> {
  parseDate(options.date, 'bill date');
  const merId = options.merchantId ?? '000000000000000';
  if (!/^[0-9A-Za-z]{15}$/.test(merId)) throw invalid(`merchant id "${merId}" is not a 15-character UnionPay merchant code`);
  const variant = options.variant ?? 'zip';
  if (variant !== 'zip' && variant !== 'zm') throw invalid(`unknown UnionPay bill variant "${variant}" (zip or zm)`);
  const names = billFileNames(options.date, merId);
  const byType = new Map<string, Totals>();
  const total = emptyTotals();
  const add = (t: Totals, row: BillRow) => {
    t.count++;
    const gross = Math.abs(row.amountMinor);
    if (row.amountMinor < 0) t.amountDebit += gross;
    else t.amountCredit += gross;
    if (row.feeMinor >= 0) t.feeDebit += row.feeMinor;
    else t.feeCredit += -row.feeMinor;
    const net = row.amountMinor - row.feeMinor;
    if (net < 0) t.netDebit += -net;
    else t.netCredit += net;
  };
  const zmChunks = function* (): Generator<Buffer> {
    let batch: string[] = [];
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      batch.push(encodeRecord(row, i, merId));
      const label = row.kind === 'refund' ? '退货' : row.kind === 'payment' ? '消费' : '其他';
      if (!byType.has(label)) byType.set(label, emptyTotals());
      add(byType.get(label)!, row);
      add(total, row);
      if (batch.length >= 2048) {
        yield Buffer.from(`${batch.join('\r\n')}\r\n`, 'latin1');
        batch = [];
      }
    }
    if (batch.length) yield Buffer.from(`${batch.join('\r\n')}\r\n`, 'latin1');
  };
  if (variant === 'zm') {
    const out = createWriteStream(path);
    for (const chunk of zmChunks()) if (!out.write(chunk)) await once(out, 'drain');
    out.end();
    await once(out, 'close');
    return;
  }
  const next = new Date(Date.parse(`${options.date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  // The RD entry is rendered after the ZM entry has been streamed, when the totals are known.
  const rd = function* (): Generator<Buffer> {
    yield encodeText(renderRd({ merId, date: options.date, currency: 'CNY', generated: next, byType: [...byType.entries()], total }), 'gbk');
  };
  await writeZip(path, [{ name: names.zm, data: zmChunks() }, { name: names.rd, data: rd() }], Date.parse(`${next}T00:00:00Z`));
}

