/**
 * Renders command results. A command returns data; its presenter turns that into a
 * {@link Presentation}: one JSON document for `--json`, and blocks (tables, field lists, lines)
 * for people. Human output goes to stdout; progress and logs go to stderr.
 */
import type { Writable } from 'node:stream';
import { createRequire } from 'node:module';
import { Chalk, type ChalkInstance } from 'chalk';
import type CliTable3 from 'cli-table3';
import type { ExitStatus } from '../core/errors.js';

/** How to print. */
export interface OutputOptions {
  json: boolean;
  color: boolean;
  quiet: boolean;
  stdout: Writable;
  stderr: Writable;
}

/** Tone of a line or cell. */
export type Tone = 'ok' | 'warn' | 'error' | 'dim' | 'strong';

/** A table column. */
export interface Column {
  key: string;
  header: string;
  align?: 'left' | 'right';
}

/** A table cell: text, or text with a tone. */
export type Cell = string | number | undefined | null | { text: string; tone?: Tone };

/** Something to print for people. */
export type Block =
  | { kind: 'table'; title?: string; columns: Column[]; rows: Record<string, Cell>[]; empty?: string }
  | { kind: 'fields'; title?: string; fields: [string, Cell][] }
  | { kind: 'text'; text: string; tone?: Tone }
  | { kind: 'raw'; text: string };

/** What a presenter returns. */
export interface Presentation {
  /** The `--json` document. */
  json: unknown;
  /** Human output. */
  blocks: Block[];
  /** Exit status (default 0). */
  exitCode?: ExitStatus;
}

/** A chalk instance honouring `--no-color` / NO_COLOR. */
export function palette(color: boolean): ChalkInstance {
  return new Chalk({ level: color ? 1 : 0 });
}

function toneOf(c: ChalkInstance, tone: Tone | undefined, text: string): string {
  switch (tone) {
    case 'ok':
      return c.green(text);
    case 'warn':
      return c.yellow(text);
    case 'error':
      return c.red(text);
    case 'dim':
      return c.dim(text);
    case 'strong':
      return c.bold(text);
    default:
      return text;
  }
}

function cellText(cell: Cell): { text: string; tone?: Tone } {
  if (cell === undefined || cell === null) return { text: '' };
  if (typeof cell === 'object') return cell;
  return { text: String(cell) };
}

// cli-table3 and string-width are CommonJS: required on the first table, so commands that print
// none (and --version) never load them, and the renderer stays synchronous.
const requireLazy = createRequire(import.meta.url);
let tableLib: { Table: typeof CliTable3; width: (text: string) => number } | undefined;
function tables(): NonNullable<typeof tableLib> {
  tableLib ??= { Table: requireLazy('cli-table3') as typeof CliTable3, width: requireLazy('string-width') as (text: string) => number };
  return tableLib;
}

/** Display width in terminal columns (string-width: East Asian wide characters take two, colour codes none). */
export function displayWidth(text: string): number {
  return tables().width(text);
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

// Borderless: columns two spaces apart, no rules, so output stays easy to read, grep and paste.
const CHARS = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
  bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
};
// cli-table3 lays a table out in time that grows faster than its row count; drawing slices of this
// many rows with the widths measured over the whole table keeps long tables (reports written with
// --out) linear and aligned.
const SLICE = 50;

/** Renders a table as aligned columns (cli-table3, plain text, coloured per cell). */
export function formatTable(block: Extract<Block, { kind: 'table' }>, c: ChalkInstance): string {
  const lines: string[] = [];
  if (block.title) lines.push(c.bold(block.title));
  if (block.rows.length === 0) {
    lines.push(c.dim(block.empty ?? '(none)'));
    return lines.join('\n');
  }
  const { Table, width } = tables();
  const cells = block.rows.map((r) => block.columns.map((col) => cellText(r[col.key])));
  const colWidths = block.columns.map((col, i) => Math.max(1, width(col.header), ...cells.map((row) => width(row[i].text))));
  const colAligns = block.columns.map((col) => col.align ?? 'left');
  const style = { 'padding-left': 0, 'padding-right': 0, head: [], border: [], compact: true };
  for (let at = 0; at < cells.length; at += SLICE) {
    const table = new Table({ chars: CHARS, style, colWidths, colAligns, ...(at === 0 ? { head: block.columns.map((col) => c.bold(col.header)) } : {}) });
    for (const row of cells.slice(at, at + SLICE)) table.push(row.map((cell) => toneOf(c, cell.tone, cell.text)));
    for (const line of table.toString().split('\n')) lines.push(line.trimEnd());
  }
  return lines.join('\n');
}

function formatFields(block: Extract<Block, { kind: 'fields' }>, c: ChalkInstance): string {
  const lines: string[] = [];
  if (block.title) lines.push(c.bold(block.title));
  const shown = block.fields.filter(([, v]) => v !== undefined && v !== null && v !== '');
  const width = Math.max(0, ...shown.map(([k]) => displayWidth(k)));
  for (const [label, value] of shown) {
    const v = cellText(value);
    lines.push(`${c.dim(pad(label, width))}  ${toneOf(c, v.tone, v.text)}`);
  }
  return lines.join('\n');
}

/** Renders blocks for people, separated by blank lines. */
export function formatBlocks(blocks: Block[], color: boolean): string {
  const c = palette(color);
  return blocks
    .map((b) => {
      switch (b.kind) {
        case 'table':
          return formatTable(b, c);
        case 'fields':
          return formatFields(b, c);
        case 'text':
          return toneOf(c, b.tone, b.text);
        case 'raw':
          return b.text;
      }
    })
    .join('\n\n');
}

/** Prints a presentation: JSON alone on stdout with `--json`, blocks otherwise. */
export function print(p: Presentation, o: OutputOptions): void {
  if (o.json) {
    o.stdout.write(`${JSON.stringify(p.json, null, 2)}\n`);
    return;
  }
  if (o.quiet) return;
  const text = formatBlocks(p.blocks, o.color);
  if (text) o.stdout.write(`${text}\n`);
}

/** A fraction as a percentage with one decimal (`0.987` -> `98.7%`), as tables show rates. */
export const percent = (fraction: number): string => `${(fraction * 100).toFixed(1)}%`;
