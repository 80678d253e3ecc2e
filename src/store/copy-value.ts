/**
 * One value in PostgreSQL's COPY text format, both ways. The reconcile stage packs a bill row's
 * rarely read fields into one such tab-joined text (stage-batch.ts), which PostgreSQL's COPY takes
 * as it is and SQLite stores as it is, decoding it only for the rows the engine looks at.
 */

const ESCAPED = /[\\\t\n\r]/;

/** A value in COPY's text format: \N for null; backslash, tab, newline and CR escaped. */
export function copyText(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'number') return String(v);
  return ESCAPED.test(v) ? v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : v;
}

const UNESCAPE: Record<string, string> = { '\\': '\\', t: '\t', n: '\n', r: '\r' };

/** The value {@link copyText} wrote (undefined for \N). */
export function fromCopyText(text: string): string | undefined {
  if (text === '\\N') return undefined;
  return text.includes('\\') ? text.replace(/\\([\\tnr])/g, (_, c: string) => UNESCAPE[c]!) : text;
}
