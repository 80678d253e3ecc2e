/** Writes generic CSV bills by a mapping: tests and benchmarks craft bills with it. */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { BillRow, WriteBillOptions } from '../channel/contract.js';
import { invalid } from '../core/errors.js';
import { formatAmount } from '../core/money.js';
import { csvField } from '../output/csv.js';
import type { BillMapping, RowKind } from './mapping.js';
import { formatTime } from './mapping-time.js';

function wordFor(mapping: BillMapping, kind: RowKind): string {
  const words = mapping.kinds[kind];
  if (!words?.length) throw invalid(`the mapping has no word for kind ${kind}`);
  return words[0];
}

async function encoder(encoding: string): Promise<(text: string) => Buffer> {
  if (encoding === 'utf-8') return (t) => Buffer.from(t, 'utf8');
  if (encoding === 'utf-16le') return (t) => Buffer.from(t, 'utf16le');
  if (encoding === 'utf-16be') return (t) => Buffer.from(t, 'utf16le').swap16();
  const iconv = (await import('iconv-lite')).default;
  return (t) => iconv.encode(t, encoding);
}

/**
 * Writes `rows` as a file the mapping describes (header, preamble and footer lines, delimiter,
 * encoding, units, signs, time format): tests and benchmarks craft generic bills with it.
 */
export async function writeMapped(mapping: BillMapping, path: string, rows: Iterable<BillRow> | BillRow[], options: WriteBillOptions): Promise<void> {
  const encode = await encoder(mapping.encoding);
  const out = createWriteStream(path);
  const write = async (text: string) => {
    if (!out.write(encode(text))) await once(out, 'drain');
  };
  const d = mapping.delimiter;
  const line = (cells: string[]) => `${cells.map((c) => (c.includes(d) ? `"${c.replace(/"/g, '""')}"` : csvField(c))).join(d)}\n`;
  const order = Object.entries(mapping.columns).sort(([a], [b]) => (mapping.header ? 0 : Number(a) - Number(b)));
  const width = mapping.header ? order.length : Math.max(...order.map(([c]) => Number(c)));
  try {
    for (let i = 0; i < mapping.skipLines; i++) await write(`${i === 0 ? `Statement ${options.date}${options.merchantId ? ` merchant ${options.merchantId}` : ''}` : `Preamble line ${i + 1}`}\n`);
    if (mapping.header) await write(line(order.map(([c]) => c)));
    let count = 0;
    for (const r of rows) {
      const cells: string[] = new Array(width).fill('');
      order.forEach(([col, field], i) => {
        const at = mapping.header ? i : Number(col) - 1;
        const amount = (minor: number) => {
          const v = mapping.amountSign === 'kind' ? Math.abs(minor) : minor;
          return mapping.amountUnit === 'minor' ? String(v) : formatAmount(v, r.currency);
        };
        let v = '';
        switch (field) {
          case 'orderNo':
            v = r.orderNo ?? '';
            break;
          case 'channelTradeNo':
            v = r.channelTradeNo ?? '';
            break;
          case 'refundNo':
            v = r.refundNo ?? '';
            break;
          case 'kind':
            v = wordFor(mapping, r.kind);
            break;
          case 'amount':
            v = amount(r.amountMinor);
            break;
          case 'fee':
            v = mapping.amountUnit === 'minor' ? String(r.feeMinor) : formatAmount(r.feeMinor, r.currency);
            break;
          case 'currency':
            v = r.currency;
            break;
          case 'time':
            v = formatTime(Date.parse(r.time), mapping.timeFormat, mapping.timeZone);
            break;
          case 'status':
            v = r.status ?? '';
            break;
          case 'merchantId':
            v = options.merchantId ?? '';
            break;
        }
        cells[at] = v;
      });
      await write(line(cells));
      count++;
    }
    for (let i = 0; i < mapping.skipFooterLines; i++) await write(i === 0 ? `Total rows${d}${count}\n` : `End of statement${d}${i}\n`);
  } finally {
    out.end();
    await once(out, 'close');
  }
}

