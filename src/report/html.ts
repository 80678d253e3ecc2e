/**
 * Escaped HTML for the reports. Everything interpolated into {@link html} is escaped unless it
 * is already {@link Html} (a fragment built the same way), so untrusted text (bill fields, error
 * messages, file paths) can only ever render as text.
 */

/** A fragment of markup that is safe to insert as is. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for an element's content or a quoted attribute value. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** Markup we wrote ourselves (never for input). */
export function trusted(markup: string): Html {
  return new Html(markup);
}

function part(value: unknown): string {
  if (value === undefined || value === null || value === false) return '';
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(part).join('');
  return esc(value);
}

/** Tagged template: interpolated values are escaped; Html fragments and arrays of them pass. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += part(values[i]) + strings[i + 1];
  return new Html(out);
}

/** Joins fragments. */
export function join(parts: readonly (Html | string)[], separator = ''): Html {
  return new Html(parts.map(part).join(part(separator)));
}

/** Groups the integer part of a plain decimal (`1234567.89` -> `1,234,567.89`). */
export function groupDigits(decimal: string): string {
  const m = /^(-?)(\d+)(\.\d+)?$/.exec(decimal);
  if (!m) return decimal;
  return `${m[1]}${m[2].replace(/\B(?=(\d{3})+$)/g, ',')}${m[3] ?? ''}`;
}
