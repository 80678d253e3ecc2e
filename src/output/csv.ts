/**
 * CSV (RFC 4180) writing for machine-readable exports (`--format csv`, reports).
 */

/** Quotes one CSV field when it needs it. A leading =,+,-,@ is kept: we write data, not formulas. */
export function csvField(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV line (CRLF-free: `\n` endings, as most tools expect). */
export function csvLine(values: readonly unknown[]): string {
  return `${values.map(csvField).join(',')}\n`;
}
