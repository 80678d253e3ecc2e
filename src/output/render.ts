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

// Printable ASCII, the common case, is one column a character: measured by its length.
const PLAIN = /^[\x20-\x7e]*$/;
// No columns: combining marks (the accent in 'cafe\u0301'), format characters (zero-width space,
// joiners, BOM), variation selectors, and the Hangul vowels and finals that join the syllable before.
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}\u1160-\u11ff]$/u;
// Two columns: emoji drawn as pictures by default (☕, ⌚), besides the East Asian ranges below.
const WIDE_EMOJI = /^\p{Emoji_Presentation}$/u;

/**
 * Display width in terminal columns, as terminals draw it (wcwidth): East Asian wide and
 * full-width characters (Chinese subjects in bills) and emoji take two, combining marks and
 * joiners none, an emoji sequence joined by U+200D counts once, colour codes (ESC [ ... m) none.
 */
export function displayWidth(text: string): number {
  if (PLAIN.test(text)) return text.length;
  let w = 0;
  let escape = 0; // 1 after ESC, 2 inside ESC [ ... until its final byte
  let joined = false; // after a zero-width joiner: this character is drawn in the one before
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (escape === 1) {
      escape = ch === '[' ? 2 : 0;
      continue;
    }
    if (escape === 2) {
      if (cp >= 0x40 && cp <= 0x7e) escape = 0;
      continue;
    }
    if (cp === 0x1b) {
      escape = 1;
      continue;
    }
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) continue;
    if (cp < 0x300) {
      w += 1;
      joined = false;
      continue;
    }
    if (cp === 0x200d) {
      joined = true;
      continue;
    }
    if (ZERO_WIDTH.test(ch) || (cp >= 0x1f3fb && cp <= 0x1f3ff)) continue; // skin tones modify the emoji before
    if (joined) {
      joined = false;
      continue;
    }
    w +=
      (cp >= 0x1100 && cp <= 0x115f) ||
      (cp >= 0x2e80 && cp <= 0xa4cf) ||
      (cp >= 0xac00 && cp <= 0xd7a3) ||
      (cp >= 0xf900 && cp <= 0xfaff) ||
      (cp >= 0xfe30 && cp <= 0xfe4f) ||
      (cp >= 0xff00 && cp <= 0xff60) ||
      (cp >= 0xffe0 && cp <= 0xffe6) ||
      (cp >= 0x1f300 && cp <= 0x1faff) ||
      (cp >= 0x20000 && cp <= 0x3fffd) ||
      WIDE_EMOJI.test(ch)
        ? 2
        : 1;
  }
  return w;
}

function fill(text: string, width: number): string {
  return ' '.repeat(Math.max(0, width - displayWidth(text)));
}

function pad(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  return align === 'right' ? fill(text, width) + text : text + fill(text, width);
}

/**
 * Renders a table as aligned columns two spaces apart (plain text, coloured per cell, padding
 * outside the colour so no line ends in blanks). A cell of several lines takes that many lines,
 * each under its column; its width is its widest line.
 */
export function formatTable(block: Extract<Block, { kind: 'table' }>, c: ChalkInstance): string {
  const lines: string[] = [];
  if (block.title) lines.push(c.bold(block.title));
  if (block.rows.length === 0) {
    lines.push(c.dim(block.empty ?? '(none)'));
    return lines.join('\n');
  }
  const { columns } = block;
  const widths = columns.map((col) => displayWidth(col.header));
  // Each cell as its lines; widths in the same pass (no spread of every width into Math.max,
  // which overflows the stack on long tables).
  const cells = block.rows.map((r) =>
    columns.map((col, i) => {
      const cell = cellText(r[col.key]);
      const text = cell.text.includes('\n') ? cell.text.split('\n') : [cell.text];
      for (const line of text) widths[i] = Math.max(widths[i], displayWidth(line));
      return { text, tone: cell.tone };
    }),
  );
  const line = (texts: string[], colour: (i: number, text: string) => string) =>
    texts
      .map((text, i) => {
        const gap = fill(text, widths[i]);
        return columns[i].align === 'right' ? gap + colour(i, text) : colour(i, text) + gap;
      })
      .join('  ')
      .trimEnd();
  lines.push(line(columns.map((col) => col.header), (_, text) => c.bold(text)));
  for (const row of cells) {
    const height = Math.max(...row.map((cell) => cell.text.length));
    for (let k = 0; k < height; k++) {
      lines.push(line(row.map((cell) => cell.text[k] ?? ''), (i, text) => (text === '' ? '' : toneOf(c, row[i].tone, text))));
    }
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
