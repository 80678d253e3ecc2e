/** Figures as the HTML reports show them. */
import type { TableCell } from './table.js';

/** ms for people: 3 significant figures. */
export function ms(v: number): string {
  if (v >= 100) return Math.round(v).toLocaleString('en-US');
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** A whole number with thousands separators. */
export const int = (n: number) => Math.round(n).toLocaleString('en-US');

/** A numeric table cell: its text, sorted by its value. */
export const num = (v: number, text: string): TableCell => ({ text, sort: v });
