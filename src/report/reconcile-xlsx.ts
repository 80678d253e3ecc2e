/**
 * The reconciliation run as a workbook (`--report recon.xlsx`): one sheet per section of the HTML
 * report (run, totals, classes, discrepancies, carried over, resolved, history). Amounts are
 * numbers with the currency's number format, never text, so they add up in a spreadsheet. Rows are
 * streamed from the database into exceljs's streaming writer: every item, whatever the count.
 * exceljs is loaded only here.
 */
import { currencyExponent } from '../core/money.js';
import { invalid } from '../core/errors.js';
import { DISCREPANCY_CLASSES, type ItemClass } from '../reconcile/classify.js';
import { discrepancies } from '../reconcile/report.js';
import { amountText, currenciesOf, ITEM_COLUMNS, itemFacts, type ReconReportData, type RunReader } from './reconcile-data.js';

type Cell = string | number | null;

/** Excel number format of a currency: its decimals, the code after the number. */
export function currencyFormat(currency: string): string {
  let exp: number;
  try {
    exp = currencyExponent(currency);
  } catch {
    return '0';
  }
  const code = /^[A-Z]{3}$/.test(currency) ? ` "${currency}"` : '';
  return `#,##0${exp > 0 ? `.${'0'.repeat(exp)}` : ''}${code}`;
}

/**
 * An amount as a spreadsheet number. The number is parsed from the exact decimal string, so the
 * file holds that decimal (JavaScript prints a double as the shortest string that reads back the
 * same); it is never used for arithmetic here.
 */
export function amountNumber(minor: number, currency: string): number {
  return Number(amountText(minor, currency));
}

/** Writes the workbook. `data` comes from collectReconData (items are streamed again from `rs`). */
export async function writeReconcileXlsx(path: string, data: ReconReportData, rs: RunReader, generatedBy: string): Promise<void> {
  const ExcelJS = (await import('exceljs')).default;
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: path, useStyles: true, useSharedStrings: false });
  wb.creator = generatedBy;
  const { run } = data;
  const bold = { font: { bold: true } };

  type Col = { header: string; width: number; money?: boolean };
  const sheet = (name: string, cols: Col[]) => {
    const ws = wb.addWorksheet(name, { views: [{ state: 'frozen', ySplit: 1 }] });
    ws.columns = cols.map((c) => ({ header: c.header, width: c.width }));
    ws.getRow(1).font = bold.font;
    return ws;
  };
  /** Adds a row; `formats[i]` is the number format of cell i (amounts). */
  const add = (ws: ReturnType<typeof sheet>, values: Cell[], formats: (string | undefined)[] = []) => {
    const row = ws.addRow(values);
    formats.forEach((f, i) => {
      if (f && values[i] !== null && values[i] !== '') row.getCell(i + 1).numFmt = f;
    });
    row.commit();
  };

  const info = sheet('Run', [
    { header: 'field', width: 22 },
    { header: 'value', width: 80 },
  ]);
  const fields: [string, Cell][] = [
    ['run', run.id],
    ['channel', run.channel],
    ['business day', run.date],
    ['time zone', run.timeZone],
    ['bill file', run.billPath],
    ['bill format', run.billFormat],
    ['bill source', run.source],
    ['bill sha256', run.billSha256],
    ['bill rows', run.billRows],
    ['bill bytes', run.billBytes],
    ['matched', run.matched],
    ['discrepancies', discrepancies(run)],
    ['carried over', run.carriedOver],
    ['resolved', run.resolved],
    ['reconciled', discrepancies(run) === 0 ? 'yes' : 'no'],
    ['started at', run.startedAt],
    ['finished at', run.finishedAt],
  ];
  if (run.mappingSha256) fields.push(['mapping sha256', run.mappingSha256]);
  if (run.supersededBy) fields.push(['superseded by run', run.supersededBy]);
  for (const f of fields) add(info, f);
  info.commit();

  const totals = sheet('Totals', [
    { header: 'currency', width: 10 },
    { header: 'side', width: 8 },
    { header: 'rows', width: 10 },
    ...['gross', 'refunds', 'payouts', 'fees', 'adjustments', 'net'].map((h) => ({ header: h, width: 18 })),
  ]);
  for (const t of run.totals) {
    const fmt = currencyFormat(t.currency);
    const n = (minor: number) => amountNumber(minor, t.currency);
    const b = t.bill;
    add(totals, [t.currency, 'bill', b.count, n(b.grossMinor), n(b.refundsMinor), n(b.payoutsMinor), n(b.feesMinor), n(b.adjustmentsMinor), n(b.netMinor)], [, , , fmt, fmt, fmt, fmt, fmt, fmt]);
    const k = t.books;
    add(totals, [t.currency, 'books', k.count, n(k.grossMinor), n(k.refundsMinor), n(k.payoutsMinor), null, null, n(k.netMinor)], [, , , fmt, fmt, fmt, , , fmt]);
  }
  totals.commit();

  const currencies = currenciesOf(data.classes);
  const classes = sheet('Classes', [
    { header: 'class', width: 18 },
    { header: 'count', width: 10 },
    ...currencies.map((c) => ({ header: `amount ${c}`, width: 18 })),
  ]);
  for (const c of [...(['matched'] as ItemClass[]), ...data.classes.map((x) => x.class)]) {
    const f = data.classes.find((x) => x.class === c);
    const count = run[c as keyof typeof run] as number;
    add(
      classes,
      [c, count, ...currencies.map((cur) => (f ? amountNumber(f.amounts[cur] ?? 0, cur) : null))],
      [, , ...currencies.map(currencyFormat)],
    );
  }
  classes.commit();

  const itemSheet = async (name: string, cls: readonly ItemClass[]) => {
    const ws = sheet(
      name,
      ITEM_COLUMNS.map((c) => ({ header: c.header, width: c.type === 'money' ? 16 : c.key === 'note' ? 60 : c.type === 'int' ? 9 : 22 })),
    );
    for await (const item of rs.items(run.id, cls)) {
      const f = itemFacts(item);
      const values: Cell[] = [];
      const formats: (string | undefined)[] = [];
      for (const c of ITEM_COLUMNS) {
        if (c.type === 'money') {
          const minor = f[c.key];
          const cur = f[c.currency];
          values.push(minor === undefined || cur === undefined ? null : amountNumber(minor, cur));
          formats.push(cur ? currencyFormat(cur) : undefined);
        } else {
          values.push((f[c.key] as string | number | undefined) ?? null);
          formats.push(undefined);
        }
      }
      add(ws, values, formats);
    }
    ws.commit();
  };
  await itemSheet('Discrepancies', DISCREPANCY_CLASSES);
  await itemSheet('Carried over', ['carriedOver']);
  await itemSheet('Resolved', ['resolved']);

  const history = sheet('Run history', [
    { header: 'day', width: 12 },
    { header: 'run', width: 8 },
    { header: 'bill rows', width: 12 },
    { header: 'matched', width: 12 },
    ...DISCREPANCY_CLASSES.map((c) => ({ header: c, width: 16 })),
    { header: 'carried over', width: 12 },
    { header: 'resolved', width: 10 },
    { header: 'bill sha256', width: 66 },
  ]);
  for (const { date, run: r } of data.history) {
    if (!r) continue;
    add(history, [date, r.id, r.billRows, r.matched, ...DISCREPANCY_CLASSES.map((c) => r[c]), r.carriedOver, r.resolved, r.billSha256]);
  }
  history.commit();

  try {
    await wb.commit();
  } catch (err) {
    throw invalid(`cannot write ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}
