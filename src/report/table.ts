/**
 * Tables for the HTML reports. A table can be sorted by any column (click its header) and
 * filtered (words typed in the box must all appear in a row; an optional drop-down picks one value
 * of a column); the page's own small script does that. Numeric columns carry their sort key in
 * `data-v`, so amounts sort by minor units, not by their text.
 */
import { Html, html } from './html.js';

/** A column. */
export interface TableColumn {
  key: string;
  header: string;
  /** Numbers are right-aligned and sort numerically (by the cell's `sort`, else its text). */
  numeric?: boolean;
  /** Monospaced (ids, hashes). */
  mono?: boolean;
  /** Long text that wraps (notes); other cells stay on one line. */
  wrap?: boolean;
}

/** A cell: text, or text with a sort key, a tone and attributes. */
export type TableCell =
  | string
  | number
  | undefined
  | null
  | Html
  | { text: string | Html; sort?: number | string; tone?: 'ok' | 'warn' | 'error' | 'muted'; attrs?: Record<string, string | number> };

/** Options of {@link dataTable}. */
export interface TableOptions {
  /** Element id of the wrapper (tests and links find the table by it). */
  id: string;
  columns: TableColumn[];
  rows: Record<string, TableCell>[];
  /** Offer the filter box (default true when there are more than 5 rows). */
  filter?: boolean;
  /** Column key offered as a drop-down of its distinct values. */
  facet?: string;
  /** Shown instead of an empty table. */
  empty?: string;
  /** A line under the table (e.g. "first 50,000 of ..."). */
  note?: string;
  /** Extra class on rows, by row. */
  rowClass?: (row: Record<string, TableCell>, index: number) => string | undefined;
}

function isRich(cell: TableCell): cell is Exclude<TableCell, string | number | undefined | null | Html> {
  return typeof cell === 'object' && cell !== null && !(cell instanceof Html) && 'text' in cell;
}

function cellHtml(col: TableColumn, cell: TableCell): Html {
  const cls = [col.numeric ? 'num' : '', col.mono ? 'mono' : '', col.wrap ? 'wrap' : ''];
  if (isRich(cell)) {
    if (cell.tone) cls.push(cell.tone);
    const attrs = Object.entries(cell.attrs ?? {}).map(([k, v]) => html` ${`data-${k.replace(/[^a-z0-9-]/gi, '')}`}="${v}"`);
    const sort = cell.sort !== undefined ? html` data-v="${cell.sort}"` : '';
    return html`<td class="${cls.filter(Boolean).join(' ')}"${sort}${attrs}>${cell.text}</td>`;
  }
  const c = cls.filter(Boolean).join(' ');
  return html`<td${c ? html` class="${c}"` : ''}>${cell ?? ''}</td>`;
}

/** A sortable, filterable table. */
export function dataTable(opts: TableOptions): Html {
  if (opts.rows.length === 0) return html`<div class="table-wrap" id="${opts.id}"><p class="muted empty">${opts.empty ?? 'Nothing to list.'}</p></div>`;
  const filter = opts.filter ?? opts.rows.length > 5;
  const facetIndex = opts.facet ? opts.columns.findIndex((c) => c.key === opts.facet) : -1;
  let facet: Html | string = '';
  if (facetIndex >= 0) {
    const values = [...new Set(opts.rows.map((r) => plain(r[opts.facet!])))].filter((v) => v !== '').sort();
    facet = html`<select data-col="${facetIndex}" aria-label="${opts.columns[facetIndex].header}"><option value="">every ${opts.columns[facetIndex].header}</option>${values.map((v) => html`<option>${v}</option>`)}</select>`;
  }
  const tools = filter || facetIndex >= 0 ? html`<div class="tools">${filter ? html`<input type="search" placeholder="Filter rows..." aria-label="Filter rows">` : ''}${facet}<span class="count muted">${opts.rows.length} rows</span></div>` : '';
  return html`<div class="table-wrap" id="${opts.id}">
${tools}<div class="scroll"><table>
<thead><tr>${opts.columns.map((c) => html`<th${c.numeric ? html` class="num" data-type="number"` : ''}><button type="button">${c.header}</button></th>`)}</tr></thead>
<tbody>
${opts.rows.map((r, i) => {
  const rc = opts.rowClass?.(r, i);
  return html`<tr${rc ? html` class="${rc}"` : ''}>${opts.columns.map((c) => cellHtml(c, r[c.key]))}</tr>\n`;
})}</tbody>
</table></div>${opts.note ? html`<p class="muted">${opts.note}</p>` : ''}
</div>
`;
}

/** The visible text of a cell (for facet values). */
function plain(cell: TableCell): string {
  if (cell === undefined || cell === null) return '';
  if (isRich(cell)) return typeof cell.text === 'string' ? cell.text : '';
  if (typeof cell === 'object') return '';
  return String(cell);
}
