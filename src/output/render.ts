/**
 * Renders command results. A command returns data; its presenter turns that into a
 * {@link Presentation}: one JSON document for `--json`, and blocks (tables, field lists, lines)
 * for people. Human output goes to stdout; progress and logs go to stderr.
 */
import type { Writable } from 'node:stream';
import { Chalk, type ChalkInstance } from 'chalk';
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

/** Display width: East Asian wide characters (Chinese subjects in bills) take two columns. */
export function displayWidth(text: string): number {
  let w = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20 || (cp >= 0x300 && cp < 0x370)) continue;
    w +=
      (cp >= 0x1100 && cp <= 0x115f) ||
      (cp >= 0x2e80 && cp <= 0xa4cf) ||
      (cp >= 0xac00 && cp <= 0xd7a3) ||
      (cp >= 0xf900 && cp <= 0xfaff) ||
      (cp >= 0xfe30 && cp <= 0xfe4f) ||
      (cp >= 0xff00 && cp <= 0xff60) ||
      (cp >= 0xffe0 && cp <= 0xffe6) ||
      (cp >= 0x1f300 && cp <= 0x1faff) ||
      (cp >= 0x20000 && cp <= 0x3fffd)
        ? 2
        : 1;
  }
  return w;
}

function pad(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(text)));
  return align === 'right' ? fill + text : text + fill;
}

/** Renders a table as aligned columns (plain text, coloured per cell). */
export function formatTable(block: Extract<Block, { kind: 'table' }>, c: ChalkInstance): string {
  const lines: string[] = [];
  if (block.title) lines.push(c.bold(block.title));
  if (block.rows.length === 0) {
    lines.push(c.dim(block.empty ?? '(none)'));
    return lines.join('\n');
  }
  const cells = block.rows.map((r) => block.columns.map((col) => cellText(r[col.key])));
  const widths = block.columns.map((col, i) => Math.max(displayWidth(col.header), ...cells.map((row) => displayWidth(row[i].text))));
  lines.push(block.columns.map((col, i) => c.bold(pad(col.header, widths[i], col.align))).join('  ').trimEnd());
  for (const row of cells) {
    lines.push(
      row
        .map((cell, i) => toneOf(c, cell.tone, pad(cell.text, widths[i], block.columns[i].align)))
        .join('  ')
        .trimEnd(),
    );
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
