/** Reads Alipay trade bills (zip or bare detail CSV) as streams; the format is described in bill.ts. */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { TextDecoder } from 'node:util';
import { type BatchedBillRows, batchedBillRows, type BillRow, type BillSource, type ReadBillOptions } from '../../src/channel/contract.js';
import { isZip, listZip, openEntry, ZipFormatError, type ZipEntry } from '../../src/channel/zip.js';
import { invalid, isPayError, PayError } from '../../src/core/errors.js';
import { formatAmount, parseAmount, plainMinor } from '../../src/core/money.js';
import { isoUtc, parseDate } from '../../src/core/time.js';
import { beijingToUtc } from './beijing-time.js';


/** The bills' only currency. */
export const CURRENCY = 'CNY';

/** Canonical fields and the header names (after normalising) that carry them. */
const COLUMNS = {
  tradeNo: ['支付宝交易号'],
  orderNo: ['商户订单号'],
  type: ['业务类型'],
  created: ['创建时间'],
  finished: ['完成时间'],
  amount: ['订单金额'],
  received: ['商家实收'],
  refundNo: ['退款批次号/请求号', '退款请求号', '退款批次号'],
  fee: ['服务费', '手续费'],
} as const;
type Column = keyof typeof COLUMNS;

/** Header cell -> comparable name: no spaces/tabs, no `（元）`/`(元)` unit suffix. */
function normalizeHeader(cell: string): string {
  return cell.replace(/\s+/g, '').replace(/[（(]元[)）]$/, '');
}

function damaged(where: string, line: number | undefined, message: string, hint = 'The bill looks damaged or truncated; download it again.'): PayError {
  return invalid(`${where}${line ? `:${line}` : ''}: ${message}`, { hint });
}

/**
 * Splits one CSV line. Alipay does not quote, but a quoted cell (from a spreadsheet round trip)
 * is honoured so a comma inside it does not shift the columns. Cells are trimmed (trailing tabs).
 */
export function splitCells(line: string): string[] {
  if (!line.includes('"')) return line.split(',').map((c) => c.trim());
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"' && cur.trim() === '') {
      quoted = true;
      cur = '';
    } else if (c === ',') {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  out.push(cur.trim());
  return out;
}

/**
 * Cuts an unquoted line at its commas without copying it: `ends[i]` is where cell i ends, for as
 * many cells as `ends` holds. Returns how many cells the line has.
 */
function cutCells(line: string, ends: Int32Array): number {
  let n = 0;
  let from = 0;
  for (;;) {
    const comma = line.indexOf(',', from);
    if (n < ends.length) ends[n] = comma < 0 ? line.length : comma;
    n++;
    if (comma < 0) return n;
    from = comma + 1;
  }
}

/**
 * Decodes a byte stream into batches of lines (one batch per chunk: per-line async hops would
 * dominate the cost of a large bill), detecting the encoding from the first 8 KiB: a UTF-8 BOM
 * or valid UTF-8 means UTF-8, anything else GBK (GB18030, its superset). Invalid bytes in either
 * are an error naming the line, never silently replaced.
 */
export async function* decodeLines(chunks: AsyncIterable<Buffer>, where: string): AsyncGenerator<string[]> {
  let decoder: TextDecoder | undefined;
  let charset = '';
  let head: Buffer[] = [];
  let headLen = 0;
  let pending = '';
  let lineNo = 0;
  const utf16 = () => invalid(`${where} is UTF-16, not GBK or UTF-8`, { hint: 'Alipay bills are GBK (as downloaded) or UTF-8; re-save the file in one of those.' });
  const detect = (sample: Buffer) => {
    if ((sample[0] === 0xff && sample[1] === 0xfe) || (sample[0] === 0xfe && sample[1] === 0xff)) throw utf16();
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(sample, { stream: true });
      charset = 'utf-8';
    } catch {
      charset = 'gb18030';
    }
    decoder = new TextDecoder(charset, { fatal: true });
  };
  const feed = (buf: Buffer, final: boolean): string[] => {
    try {
      pending += decoder!.decode(buf, { stream: !final });
    } catch {
      throw invalid(`${where}: bytes after line ${lineNo} are not valid ${charset === 'utf-8' ? 'UTF-8' : 'GBK'}`, {
        hint: 'The file mixes encodings or is not text; Alipay bills are GBK as downloaded, or UTF-8.',
      });
    }
    const parts = pending.split('\n');
    pending = final ? '' : parts.pop()!;
    if (final && parts[parts.length - 1] === '') parts.pop();
    lineNo += parts.length;
    for (let i = 0; i < parts.length; i++) if (parts[i].endsWith('\r')) parts[i] = parts[i].slice(0, -1);
    return parts;
  };
  for await (const chunk of chunks) {
    if (!decoder) {
      head.push(chunk);
      headLen += chunk.length;
      if (headLen < 8192) continue;
      const all = Buffer.concat(head);
      head = [];
      detect(all);
      yield feed(all, false);
      continue;
    }
    yield feed(chunk, false);
  }
  if (!decoder) {
    const all = Buffer.concat(head);
    if (all.length === 0) return;
    detect(all);
    yield feed(all, true);
    return;
  }
  yield feed(Buffer.alloc(0), true);
}

function parseBillDate(text: string): string | undefined {
  const m = /(\d{4})[年-](\d{1,2})[月-](\d{1,2})/.exec(text);
  return m ? `${m[1]}-${m[2].padStart(2, '0')}-${m[3].padStart(2, '0')}` : undefined;
}

/** Totals of the detail list, for the footers and the summary. */
export interface DetailTotals {
  payments: number;
  refunds: number;
  paymentReceived: number;
  refundReceived: number;
}

function money(cell: string, where: string, line: number, label: string): number {
  // The usual cell converts in one pass over its characters; anything else goes the exact,
  // checking way of core/money.
  const fen = plainMinor(cell, 2);
  if (!Number.isNaN(fen)) return fen || 0; // -0.00 is 0, as it always was here
  try {
    return parseAmount(cell, CURRENCY, { allowNegative: true, allowZero: true, label });
  } catch (err) {
    throw damaged(where, line, (err as Error).message, (err as PayError).hint);
  }
}

/**
 * Parses the detail CSV, yielding the rows of each batch of decoded lines as one array (a promise
 * and a generator step per chunk of the file, not per row); returns the totals it saw.
 */
async function* parseDetail(chunks: AsyncIterable<Buffer>, where: string, options: ReadBillOptions): AsyncGenerator<BillRow[], DetailTotals> {
  let lineNo = 0;
  let sawTitle = false;
  let account: string | undefined;
  let billDate: string | undefined;
  let header: Map<Column, number> | undefined;
  let width = 0;
  let ended = false;
  let tradeFooter: { count: number; received: number } | undefined;
  let refundFooter: { count: number; received: number } | undefined;
  const totals: DetailTotals = { payments: 0, refunds: 0, paymentReceived: 0, refundReceived: 0 };
  // Column positions once the header is read (-1: the bill has no such column).
  const at: Record<Column, number> = { tradeNo: -1, orderNo: -1, type: -1, created: -1, finished: -1, amount: -1, received: -1, refundNo: -1, fee: -1 };
  // Rows are in time order and many share a second: the last time converted is reused.
  let lastWall = '';
  let lastIso = '';
  // Where each cell of the current line ends (see cutCells).
  let ends = new Int32Array(0);

  for await (const batch of decodeLines(chunks, where)) {
    const out: BillRow[] = [];
    for (const line of batch) {
      lineNo++;
      // A line not starting with white space is not blank (trim would copy every row).
      if (line === '' || (/^\s/.test(line) && line.trim() === '')) continue;
      if (!sawTitle) {
        if (!/^#\s*支付宝.*明细/.test(line)) {
          throw invalid(`${where} is not an Alipay trade bill: it does not start with "#支付宝业务明细查询"`, {
            hint: 'Give the trade bill (业务明细) zip or CSV as downloaded; if it is one, it may be in an encoding other than GBK or UTF-8.',
          });
        }
        sawTitle = true;
        continue;
      }
      if (line.startsWith('#')) {
        const body = line.slice(1).trim();
        let m: RegExpExecArray | null;
        if ((m = /^账号[：:]\s*\[?([^\]\s]*)\]?/.exec(body))) {
          account = m[1];
          if (options.merchantId && account !== options.merchantId && !account.startsWith(options.merchantId)) {
            throw invalid(`${where} is the bill of Alipay account ${account}, not of merchant ${options.merchantId}`, { hint: 'Check channels.alipay.sellerId, or give the bill of this merchant.' });
          }
        } else if (/^起始日期/.test(body)) {
          const start = parseBillDate(body);
          const end = parseBillDate(body.slice(body.indexOf('终止日期')));
          if (!start) throw damaged(where, lineNo, 'the 起始日期 line has no date');
          billDate = start;
          if (options.date) {
            const next = end ? isoUtc(Date.parse(`${start}T00:00:00Z`) + 86_400_000).slice(0, 10) : undefined;
            if (start !== options.date || (end && end !== next)) {
              throw invalid(`${where} covers ${start}${end ? ` to ${end}` : ''}, not the business day ${options.date}`, { hint: `Give the daily bill for ${options.date} (Beijing time).` });
            }
          }
        } else if (/业务明细列表结束/.test(body)) ended = true;
        else if ((m = /^交易合计[：:]\s*(\d+)\s*笔[，,]\s*商家实收共\s*([^元，,]*)\s*元/.exec(body))) {
          tradeFooter = { count: Number(m[1]), received: money(m[2], where, lineNo, 'footer total') };
        } else if ((m = /^退款合计[：:]\s*(\d+)\s*笔[，,]\s*商家实收退款共\s*([^元，,]*)\s*元/.exec(body))) {
          refundFooter = { count: Number(m[1]), received: -Math.abs(money(m[2], where, lineNo, 'footer total')) };
        } else if (/^(交易|退款)合计/.test(body)) {
          throw damaged(where, lineNo, `unreadable footer "${body.slice(0, 60)}"`);
        }
        continue;
      }
      if (ended || tradeFooter || refundFooter) throw damaged(where, lineNo, 'data after the end of the detail list');
      if (!header) {
        const cells = splitCells(line);
        const names = cells.map(normalizeHeader);
        const map = new Map<Column, number>();
        for (const [col, aliases] of Object.entries(COLUMNS) as [Column, readonly string[]][]) {
          const idx = names.findIndex((n) => aliases.includes(n));
          if (idx >= 0) map.set(col, idx);
        }
        const required: Column[] = ['tradeNo', 'orderNo', 'type', 'amount', 'received'];
        const missing = required.filter((c) => !map.has(c)).map((c) => COLUMNS[c][0]);
        if (!map.has('finished') && !map.has('created')) missing.push('完成时间');
        if (missing.length) throw damaged(where, lineNo, `the column header lacks ${missing.join(', ')}`, 'This is not a trade bill (业务明细) or its header was edited.');
        if (options.date && !billDate) throw damaged(where, lineNo, 'no #起始日期 line: the bill does not say which day it covers');
        if (options.merchantId && !account) throw damaged(where, lineNo, 'no #账号 line: the bill does not say whose it is');
        header = map;
        for (const [col, i] of map) at[col] = i;
        width = cells.length;
        ends = new Int32Array(width);
        continue;
      }
      // An unquoted line (all of Alipay's own) is only cut at its commas, and the cells read are
      // copied out and trimmed; a quoted one goes through splitCells.
      const cells = line.includes('"') ? splitCells(line) : undefined;
      const count = cells ? cells.length : cutCells(line, ends);
      if (count !== width) throw damaged(where, lineNo, `expected ${width} fields, found ${count}`);
      const get = (c: Column) => {
        const i = at[c];
        if (i < 0) return '';
        return cells ? cells[i] : line.slice(i === 0 ? 0 : ends[i - 1] + 1, ends[i]).trim();
      };
      const type = get('type');
      const kind: BillRow['kind'] = type === '交易' ? 'payment' : type === '退款' ? 'refund' : 'adjustment';
      const tradeNo = get('tradeNo');
      if (!tradeNo) throw damaged(where, lineNo, 'the row has no 支付宝交易号');
      const amount = money(get('amount'), where, lineNo, '订单金额');
      const received = money(get('received'), where, lineNo, '商家实收');
      const feeCell = get('fee');
      const fee = feeCell === '' ? 0 : Math.abs(money(feeCell, where, lineNo, '服务费'));
      const wall = get('finished') || get('created');
      if (wall !== lastWall) {
        const time = beijingToUtc(wall);
        if (Number.isNaN(time)) throw damaged(where, lineNo, `"${wall.slice(0, 30)}" is not a date-time`);
        lastIso = isoUtc(time);
        lastWall = wall;
      }
      let amountMinor = amount;
      let feeMinor = fee;
      if (kind === 'payment') {
        if (amount < 0) throw damaged(where, lineNo, `a 交易 row with a negative amount (${get('amount')})`);
        totals.payments++;
        totals.paymentReceived += received;
      } else if (kind === 'refund') {
        amountMinor = -Math.abs(amount);
        feeMinor = -fee;
        totals.refunds++;
        totals.refundReceived += -Math.abs(received);
      }
      out.push({
        line: lineNo,
        orderNo: get('orderNo') || undefined,
        channelTradeNo: tradeNo,
        kind,
        refundNo: kind === 'refund' ? get('refundNo') || undefined : undefined,
        amountMinor,
        feeMinor,
        currency: CURRENCY,
        time: lastIso,
        status: kind === 'adjustment' ? type : 'succeeded',
      });
    }
    if (out.length) yield out;
  }
  if (!sawTitle) throw invalid(`${where} is empty`, { hint: 'Give the trade bill zip or CSV as downloaded.' });
  if (!header) throw damaged(where, lineNo, 'no column header: the file is truncated or not a trade bill');
  if (!tradeFooter || !refundFooter) throw damaged(where, lineNo, `no ${!tradeFooter ? '#交易合计' : '#退款合计'} footer: the file is truncated`);
  if (tradeFooter.count !== totals.payments || tradeFooter.received !== totals.paymentReceived) {
    throw damaged(where, undefined, `the footer says ${tradeFooter.count} payments totalling ${formatAmount(tradeFooter.received, CURRENCY)}, the rows hold ${totals.payments} totalling ${formatAmount(totals.paymentReceived, CURRENCY)}`);
  }
  if (refundFooter.count !== totals.refunds || refundFooter.received !== totals.refundReceived) {
    throw damaged(where, undefined, `the footer says ${refundFooter.count} refunds totalling ${formatAmount(refundFooter.received, CURRENCY)}, the rows hold ${totals.refunds} totalling ${formatAmount(totals.refundReceived, CURRENCY)}`);
  }
  return totals;
}

/** Checks the summary entry's counts (its 合计 row, else the sum of its rows) against the detail. */
async function checkSummary(chunks: AsyncIterable<Buffer>, where: string, totals: DetailTotals): Promise<void> {
  let header: string[] | undefined;
  let total: string[] | undefined;
  const sums = { trades: 0, refunds: 0 };
  let lineNo = 0;
  for await (const batch of decodeLines(chunks, where)) for (const line of batch) {
    lineNo++;
    if (line.trim() === '' || line.startsWith('#')) continue;
    const cells = splitCells(line);
    if (!header) {
      header = cells.map(normalizeHeader);
      continue;
    }
    if (cells[0] === '合计') total = cells;
    else {
      const t = Number(cells[header.indexOf('交易订单总笔数')]);
      const r = Number(cells[header.indexOf('退款订单总笔数')]);
      if (Number.isInteger(t)) sums.trades += t;
      if (Number.isInteger(r)) sums.refunds += r;
    }
  }
  if (!header) return;
  const ti = header.indexOf('交易订单总笔数');
  const ri = header.indexOf('退款订单总笔数');
  if (ti < 0 || ri < 0) return;
  const trades = total ? Number(total[ti]) : sums.trades;
  const refunds = total ? Number(total[ri]) : sums.refunds;
  if (trades !== totals.payments || refunds !== totals.refunds) {
    throw damaged(where, undefined, `the summary counts ${trades} payments and ${refunds} refunds, the detail holds ${totals.payments} and ${totals.refunds}`);
  }
}

function isDetailEntry(e: ZipEntry): boolean {
  return /业务明细\.csv$/i.test(e.name) && !e.name.includes('汇总');
}

async function* fileChunks(path: string): AsyncGenerator<Buffer> {
  yield* createReadStream(path, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>;
}

/**
 * Streams the rows of an Alipay trade bill (zip or CSV), checking footers, date and merchant: row
 * by row, or a chunk of the file at a time (`batches()`, what reconciliation's packer takes).
 */
export function readAlipayBill(source: BillSource, options: ReadBillOptions = {}): BatchedBillRows {
  return batchedBillRows(() => readAlipayBillChunks(source, options));
}

/** The rows of a bill, an array per batch of lines decoded. */
async function* readAlipayBillChunks(source: BillSource, options: ReadBillOptions): AsyncGenerator<BillRow[]> {
  const path = source.path;
  if (options.date) parseDate(options.date);
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw invalid(`${path} is not a file`);
    size = st.size;
  } catch (err) {
    if (isPayError(err)) throw err;
    throw invalid(`cannot read bill ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { hint: 'Check the path given with --bill.' });
  }
  if (size === 0) throw invalid(`${path} is empty`, { hint: 'Give the trade bill zip or CSV as downloaded.' });
  const fh = await open(path, 'r');
  const head = Buffer.alloc(4);
  try {
    await fh.read(head, 0, 4, 0);
  } finally {
    await fh.close();
  }
  if (!isZip(head)) {
    yield* parseDetail(fileChunks(path), path, options);
    return;
  }
  const wrap = (err: unknown): never => {
    if (isPayError(err)) throw err;
    if (err instanceof ZipFormatError) throw invalid(`${path}: ${err.message}`, { hint: 'The zip is damaged or truncated; download the bill again.' });
    throw err;
  };
  let entries: ZipEntry[] = [];
  try {
    entries = await listZip(path);
  } catch (err) {
    wrap(err);
  }
  const detail = entries.find(isDetailEntry);
  if (!detail) {
    throw invalid(`${path} has no trade detail CSV (…_业务明细.csv); it holds: ${entries.map((e) => e.name).join(', ') || 'nothing'}`, {
      hint: 'Give the trade bill (bill_type=trade) zip as downloaded.',
    });
  }
  const summary = entries.find((e) => /业务明细\(汇总\)\.csv$/.test(e.name));
  let totals: DetailTotals | undefined;
  try {
    totals = yield* parseDetail(openEntry(path, detail), `${path}!${detail.name}`, options);
    if (summary) await checkSummary(openEntry(path, summary), `${path}!${summary.name}`, totals);
  } catch (err) {
    wrap(err);
  }
}
