#!/usr/bin/env node
/**
 * CSV reader against csv-parse: writes a WeChat-style trade bill of N rows (UTF-8 with a BOM,
 * backtick-prefixed fields, Chinese subjects, quoted fields holding commas and doubled quotes), then
 * reads it back with our reader (src/channel/csv.ts readCsvBatches) and with csv-parse streaming
 * over iconv-lite decoding (BOM dropped, line numbers on, the features our reader gives), runs
 * interleaved, best of --runs each. Both must see the same records and the same checksum. Prints
 * both times and the ratio csv-parse / ours: the hand parser stays only while the ratio is above
 * 1.3 (issue 18).
 *
 *   npm run build && node bench/csv.mjs [--rows 1000000] [--runs 3]
 */
import { createWriteStream, createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parse } from 'csv-parse';
import iconv from 'iconv-lite';
import { cliArgs } from './measure.mjs';

const { value } = cliArgs();
const ROWS = Number(value('--rows', 1_000_000));
const RUNS = Number(value('--runs', 3));
const { readCsvBatches } = await import(new URL('../dist/src/channel/csv.js', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'pay-bench-csv-'));
const path = join(dir, 'wechat-trade.csv');
try {
  const out = createWriteStream(path);
  const write = async (s) => {
    if (!out.write(s)) await once(out, 'drain');
  };
  await write('\uFEFF交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单总金额,代金券金额,商品名称,商户数据包,手续费,费率\n');
  for (let i = 0; i < ROWS; i++) {
    const amount = (100 + (i % 10000)) / 100;
    const subject = i % 10 === 0 ? `"咖啡, 大杯 ""冰"" ${i}"` : `\`商品${i % 997}`;
    await write(
      `\`2026-11-22 ${String(i % 24).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00,\`wx2421b1c4370ec43b,\`1900000109,\`0,\`,\`42000009${String(i).padStart(20, '0')},\`P${String(i).padStart(12, '0')},\`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,\`NATIVE,\`SUCCESS,\`CMC,\`CNY,\`${amount.toFixed(2)},\`0.00,${subject},\`,\`${(amount * 0.006).toFixed(2)},\`0.60%\n`,
    );
  }
  out.end();
  await once(out, 'close');
  const bytes = statSync(path).size;

  const ours = async () => {
    let records = 0;
    let sum = 0;
    for await (const batch of readCsvBatches(path, { label: 'bench bill' })) {
      for (const r of batch) {
        records++;
        sum += r.fields[14].length + r.line;
      }
    }
    return { records, sum };
  };
  const csvParse = async () => {
    let records = 0;
    let sum = 0;
    const parser = createReadStream(path, { highWaterMark: 256 * 1024 })
      .pipe(iconv.decodeStream('utf-8'))
      .pipe(parse({ info: true, relax_column_count: true }));
    for await (const { record, info } of parser) {
      records++;
      sum += record[14].length + info.lines;
    }
    return { records, sum };
  };

  const best = { ours: Infinity, csvParse: Infinity };
  let seen;
  for (let run = 0; run < RUNS; run++) {
    for (const [name, fn] of [
      ['ours', ours],
      ['csvParse', csvParse],
    ]) {
      const t = performance.now();
      const r = await fn();
      best[name] = Math.min(best[name], performance.now() - t);
      seen ??= r;
      if (r.records !== seen.records || r.sum !== seen.sum) throw new Error(`${name} read ${r.records} records (checksum ${r.sum}), expected ${seen.records} (${seen.sum})`);
    }
  }
  const rate = (ms) => `${Math.round((seen.records / ms) * 1000).toLocaleString('en')} records/s`;
  console.log(`node ${process.version}, ${ROWS.toLocaleString('en')} rows (${(bytes / 1048576).toFixed(1)} MB, UTF-8 with BOM), best of ${RUNS} interleaved runs`);
  console.log(`ours (src/channel/csv.ts):        ${best.ours.toFixed(0).padStart(7)} ms  ${rate(best.ours)}`);
  console.log(`csv-parse + iconv-lite streaming: ${best.csvParse.toFixed(0).padStart(7)} ms  ${rate(best.csvParse)}`);
  const ratio = best.csvParse / best.ours;
  console.log(`ratio csv-parse / ours: ${ratio.toFixed(2)}x (${ratio > 1.3 ? 'over 1.3x: the hand parser stays' : 'at most 1.3x: switch to csv-parse'})`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
