/**
 * The reconciliation run as one HTML page (`pay reconcile ... --report recon.html`): the run's
 * header (channel, day, bill file and its sha256), totals per currency on both sides, the
 * discrepancies by class (counts and amounts, charted), every item in a sortable, filterable
 * table, carried-over and resolved items, and the channel's runs over the last days.
 */
import { DISCREPANCY_CLASSES, SUMMARY_CLASSES } from '../reconcile/classify.js';
import { discrepancies } from '../reconcile/report.js';
import type { SideTotals } from '../store/reconcile-store.js';
import { barChart } from './chart.js';
import { groupDigits, html, type Html } from './html.js';
import { fields, renderPage, section } from './page.js';
import { amountText, currenciesOf, ITEM_COLUMNS, itemFacts, type ReconReportData } from './reconcile-data.js';
import { dataTable, type TableCell } from './table.js';
import type { ItemRecord } from '../store/reconcile-store.js';

/** Coordinate width of the charts shown two abreast. */
const HALF = 560;

const CLASS_LABEL: Record<string, string> = {
  matched: 'matched',
  missingLocal: 'missing in the books',
  missingChannel: 'missing at the channel',
  amountMismatch: 'amount mismatch',
  statusMismatch: 'status mismatch',
  currencyMismatch: 'currency mismatch',
  duplicate: 'duplicate',
  carriedOver: 'carried over',
  resolved: 'resolved',
};

/** An amount cell: grouped decimal text, sorted and tagged by minor units. */
export function moneyCell(minor: number | undefined, currency: string | undefined, withCurrency = false): TableCell {
  if (minor === undefined || currency === undefined) return '';
  const text = groupDigits(amountText(minor, currency));
  return { text: withCurrency ? `${text} ${currency}` : text, sort: minor, attrs: { minor } };
}

const int = (n: number, tone?: 'ok' | 'warn' | 'error'): TableCell => ({ text: n.toLocaleString('en-US'), sort: n, tone });

function itemRows(items: ItemRecord[]): Record<string, TableCell>[] {
  return items.map((item) => {
    const f = itemFacts(item);
    const row: Record<string, TableCell> = {};
    for (const c of ITEM_COLUMNS) {
      if (c.type === 'money') row[c.key] = moneyCell(f[c.key], f[c.currency], true);
      else if (c.type === 'int') row[c.key] = f[c.key] === undefined ? '' : int(f[c.key] as number);
      else row[c.key] = f[c.key] as string;
    }
    return row;
  });
}

function itemTable(id: string, items: ItemRecord[], total: number, runId: number, empty: string): Html {
  return dataTable({
    id,
    columns: ITEM_COLUMNS.map((c) => ({ key: c.key, header: c.header, numeric: c.type !== 'text', mono: ['orderNo', 'refundNo', 'channelTradeNo'].includes(c.key), wrap: c.key === 'note' })),
    rows: itemRows(items),
    facet: 'class',
    filter: true,
    empty,
    note: total > items.length ? `The first ${items.length.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} items. Every item: pay reconcile show ${runId} --report run.xlsx (or --format csv --out items.csv).` : undefined,
  });
}

function totalsSection(data: ReconReportData): Html {
  const { run } = data;
  if (run.totals.length === 0) return section('totals', 'Totals', html`<p class="muted">No settled rows on either side.</p>`);
  const side = (currency: string, name: string, t: SideTotals, withFees: boolean): Record<string, TableCell> => ({
    currency,
    side: name,
    count: int(t.count),
    gross: moneyCell(t.grossMinor, currency),
    refunds: moneyCell(t.refundsMinor, currency),
    payouts: moneyCell(t.payoutsMinor, currency),
    fees: withFees ? moneyCell(t.feesMinor, currency) : '',
    adjustments: withFees ? moneyCell(t.adjustmentsMinor, currency) : '',
    net: moneyCell(t.netMinor, currency),
  });
  const rows = run.totals.flatMap((t) => [
    side(t.currency, 'bill', t.bill, true),
    side(t.currency, 'books', t.books, false),
    {
      currency: t.currency,
      side: 'bill − books',
      count: int(t.bill.count - t.books.count),
      gross: moneyCell(t.bill.grossMinor - t.books.grossMinor, t.currency),
      refunds: moneyCell(t.bill.refundsMinor - t.books.refundsMinor, t.currency),
      payouts: moneyCell(t.bill.payoutsMinor - t.books.payoutsMinor, t.currency),
      fees: '',
      adjustments: '',
      net: '',
    },
  ]);
  return section(
    'totals',
    'Totals',
    dataTable({
      id: 'totals-table',
      filter: false,
      columns: [
        { key: 'currency', header: 'currency' },
        { key: 'side', header: 'side' },
        { key: 'count', header: 'rows', numeric: true },
        { key: 'gross', header: 'gross', numeric: true },
        { key: 'refunds', header: 'refunds', numeric: true },
        { key: 'payouts', header: 'payouts', numeric: true },
        { key: 'fees', header: 'fees', numeric: true },
        { key: 'adjustments', header: 'adjustments', numeric: true },
        { key: 'net', header: 'net', numeric: true },
      ],
      rows,
      rowClass: (r) => (r.side === 'bill − books' ? 'sub' : undefined),
    }),
    html`<p class="muted">Gross, refunds and payouts are magnitudes; net is what reached the merchant (signed amounts less fees). The books record no fees, so their net is before fees. Rows the channel marks failed are left out.</p>`,
  );
}

function classesSection(data: ReconReportData): Html {
  const { run } = data;
  const currencies = currenciesOf(data.classes);
  const disc = data.classes.filter((c) => (DISCREPANCY_CLASSES as readonly string[]).includes(c.class));
  const rows: Record<string, TableCell>[] = [
    ...SUMMARY_CLASSES.map((c) => {
      const f = data.classes.find((x) => x.class === c);
      const row: Record<string, TableCell> = { class: CLASS_LABEL[c], key: c, count: int(run[c], c !== 'matched' && run[c] ? 'error' : undefined) };
      for (const cur of currencies) row[cur] = f ? moneyCell(f.amounts[cur] ?? 0, cur) : '';
      return row;
    }),
    ...(['carriedOver', 'resolved'] as const).map((c) => {
      const f = data.classes.find((x) => x.class === c)!;
      const row: Record<string, TableCell> = { class: CLASS_LABEL[c], key: c, count: int(run[c], c === 'carriedOver' && run[c] ? 'warn' : run[c] ? 'ok' : undefined) };
      for (const cur of currencies) row[cur] = moneyCell(f.amounts[cur] ?? 0, cur);
      return row;
    }),
  ];
  const countChart = barChart({
    id: 'chart-classes',
    width: HALF,
    title: 'Discrepancies by class (count)',
    categories: disc.map((c) => CLASS_LABEL[c.class]),
    series: [{ name: 'items', values: disc.map((c) => run[c.class as keyof typeof run] as number) }],
    integer: true,
    empty: 'No discrepancies: every row matched.',
  });
  const amountChart = barChart({
    id: 'chart-class-amounts',
    width: HALF,
    title: 'Discrepancies by class (amount)',
    categories: disc.map((c) => CLASS_LABEL[c.class]),
    // Geometry only: bar heights need numbers; every label is formatted from minor units.
    series: currencies.map((cur) => ({ name: cur, values: disc.map((c) => Number(amountText(c.amounts[cur] ?? 0, cur))) })),
    yLabel: currencies.length === 1 ? currencies[0] : 'amount',
    empty: 'No amounts at stake.',
  });
  return section(
    'classes',
    'Discrepancies by class',
    html`<div class="charts">${countChart}${amountChart}</div>`,
    dataTable({
      id: 'classes-table',
      filter: false,
      columns: [
        { key: 'class', header: 'class' },
        { key: 'key', header: 'key', mono: true },
        { key: 'count', header: 'count', numeric: true },
        ...currencies.map((c) => ({ key: c, header: `amount ${c}`, numeric: true })),
      ],
      rows,
    }),
    html`<p class="muted">The amount of an item is the bill's amount where the bill lists it, else the books'. Matched rows are counted, not listed (their amount is not summed here).</p>`,
  );
}

function historySection(data: ReconReportData): Html {
  const days = data.history;
  const chart = barChart({
    id: 'chart-history',
    title: `Discrepancies per day, last ${data.historyDays} days (${data.run.channel})`,
    categories: days.map((d) => d.date.slice(5)),
    series: DISCREPANCY_CLASSES.map((c) => ({ name: CLASS_LABEL[c], values: days.map((d) => (d.run ? d.run[c] : 0)) })),
    stacked: true,
    integer: true,
    width: 1120,
    empty: `No discrepancies in the last ${data.historyDays} days.`,
  });
  const rows = days
    .filter((d) => d.run)
    .reverse()
    .map(({ date, run }) => ({
      date,
      run: { text: `${run!.id}${run!.supersededBy ? '*' : ''}`, sort: run!.id },
      rows: int(run!.billRows),
      matched: int(run!.matched),
      discrepancies: int(discrepancies(run!), discrepancies(run!) ? 'error' : 'ok'),
      carried: int(run!.carriedOver),
      resolved: int(run!.resolved),
      sha: run!.billSha256.slice(0, 12),
    }));
  return section(
    'history',
    `History: last ${data.historyDays} days`,
    chart,
    dataTable({
      id: 'history-table',
      columns: [
        { key: 'date', header: 'day' },
        { key: 'run', header: 'run', numeric: true },
        { key: 'rows', header: 'bill rows', numeric: true },
        { key: 'matched', header: 'matched', numeric: true },
        { key: 'discrepancies', header: 'discrepancies', numeric: true },
        { key: 'carried', header: 'carried over', numeric: true },
        { key: 'resolved', header: 'resolved', numeric: true },
        { key: 'sha', header: 'bill sha256', mono: true },
      ],
      rows,
      empty: 'No runs in this window.',
    }),
  );
}

/** The report page. */
export function reconcileHtml(data: ReconReportData, generatedBy: string): string {
  const { run, extras } = data;
  const n = discrepancies(run);
  const header = fields([
    ['run', `${run.id}${run.supersededBy ? ` (superseded by run ${run.supersededBy})` : ''}${extras.replaced !== undefined ? ` (replaces run ${extras.replaced}, same file)` : ''}`],
    ['channel', run.channel],
    ['business day', `${run.date} (${run.timeZone})`],
    ['bill file', html`<span class="mono">${run.billPath}</span>`],
    ['bill format', `${run.billFormat} (${run.source === 'download' ? 'downloaded' : 'file'})`],
    ['bill sha256', html`<span class="mono" id="bill-sha256">${run.billSha256}</span>`],
    ...(run.mappingSha256 ? [['mapping sha256', html`<span class="mono">${run.mappingSha256}</span>`] as [string, Html]] : []),
    ['bill size', `${run.billRows.toLocaleString('en-US')} rows, ${run.billBytes.toLocaleString('en-US')} bytes`],
    ['matched', run.matched.toLocaleString('en-US')],
    ['discrepancies', n.toLocaleString('en-US')],
    ['carried over / resolved', `${run.carriedOver} / ${run.resolved}`],
    ...(extras.outstanding !== undefined ? [['open items', `${extras.outstanding} (this and earlier days)`] as [string, string]] : []),
    ['run', `${run.startedAt} to ${run.finishedAt}`],
  ]);
  return renderPage({
    title: `Reconciliation: ${run.channel}, ${run.date}`,
    subtitle: `Run ${run.id} · ${run.billRows.toLocaleString('en-US')} bill rows · ${run.timeZone}`,
    status: n === 0 ? { tone: 'ok', text: `Reconciled: every row matched${run.carriedOver ? ` (${run.carriedOver} carried over)` : ''}` } : { tone: 'error', text: `${n} discrepanc${n === 1 ? 'y' : 'ies'} to look at` },
    body: [
      section('run', 'Run', header),
      totalsSection(data),
      classesSection(data),
      section('items', `Discrepancies: ${data.itemsTotal.toLocaleString('en-US')}`, itemTable('items-table', data.items, data.itemsTotal, run.id, 'No discrepancies.')),
      section('carried', `Carried over: ${data.carriedOverTotal.toLocaleString('en-US')}`, html`<p class="muted">Settled in the books near midnight and not billed yet: expected in the next day's bill.</p>`, itemTable('carried-table', data.carriedOver, data.carriedOverTotal, run.id, 'Nothing carried over.')),
      section('resolved', `Resolved: ${data.resolvedTotal.toLocaleString('en-US')}`, html`<p class="muted">Open items of earlier days that this run closed.</p>`, itemTable('resolved-table', data.resolved, data.resolvedTotal, run.id, 'Nothing resolved.')),
      historySection(data),
    ],
    footer: `Written by ${generatedBy}. Amounts are exact decimals of the currency; the page loads nothing from the network.`,
  });
}
