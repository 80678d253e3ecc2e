/**
 * Small pieces the sandbox simulators share: provider-style random numbers, fees in basis points,
 * and the plain page a payer's browser is shown. Simulator-only: nothing here is used on a real
 * API call.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { SimulatorResponse } from './contract.js';

/** `n` random decimal digits (trade numbers, transaction ids, `tn`s), leading zeros allowed. */
export function randomDigits(n: number): string {
  let s = '';
  while (s.length < n) s += String(randomInt(0, 1_000_000_000)).padStart(9, '0');
  return s.slice(0, n);
}

/** `n` characters drawn from `alphabet` (provider-style ids: Stripe's base62, PayPal's upper-case). */
export function randomChars(alphabet: string, n: number): string {
  let s = '';
  for (const b of randomBytes(n)) s += alphabet[b % alphabet.length];
  return s;
}

/** The fee on `amountMinor` at `bps` basis points, in minor units, rounded half up (integers only). */
export function feeInBasisPoints(amountMinor: number, bps: number): number {
  return Number((BigInt(amountMinor) * BigInt(bps) + 5000n) / 10000n);
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

/** A minimal HTML page (a cashier or QR landing page) with `title` and one paragraph, escaped. */
export function htmlPage(title: string, text: string): SimulatorResponse {
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ESCAPES[c]);
  return {
    status: 200,
    headers: { 'content-type': 'text/html;charset=utf-8' },
    body: `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head><body><h1>${esc(title)}</h1><p>${esc(text)}</p></body></html>`,
  };
}
