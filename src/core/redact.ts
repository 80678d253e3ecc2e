/**
 * Keeps secrets out of logs, the event log and error messages. Two nets: every secret value the
 * config resolved is registered here and replaced wherever it appears in text, and fields whose
 * names say they are secret are masked whatever their value.
 */

const secrets = new Set<string>();

/** Field names whose values are masked wherever they appear (headers, bodies, config). */
export const SECRET_FIELD = /(secret|password|passwd|private[-_]?key|api[-_]?v3[-_]?key|api[-_]?key|apikey|secure[-_]?key|access[-_]?token|refresh[-_]?token|^authorization$|client[-_]?secret|^token$|sign[-_]?cert[-_]?password|^cookie$)/i;

export const MASK = '[redacted]';

/** Registers a secret value so it is masked in anything later redacted. Short values are ignored. */
export function registerSecret(value: string | undefined): void {
  if (typeof value !== 'string') return;
  const v = value.trim();
  // Very short values would mask ordinary words; real secrets are long.
  if (v.length >= 8) secrets.add(v);
  // PEM bodies also appear without armour or line breaks.
  const body = v.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  if (body.length >= 32 && body !== v) secrets.add(body);
}

/** Replaces every registered secret in `text`. */
export function redactText(text: string): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(MASK);
  return out;
}

/** Deep copy of `value` with secret-named fields masked and registered secrets replaced. */
export function redact<T>(value: T, depth = 0): T {
  if (depth > 20) return value;
  if (typeof value === 'string') return redactText(value) as T;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1)) as T;
  if (value && typeof value === 'object') {
    if (Buffer.isBuffer(value)) return redactText(value.toString('utf8')) as T;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = SECRET_FIELD.test(k) && v !== undefined && v !== null && v !== '' ? MASK : redact(v, depth + 1);
    }
    return out as T;
  }
  return value;
}
