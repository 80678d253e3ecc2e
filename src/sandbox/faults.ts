/**
 * Fault injection for the sandbox: which requests a fault hits, and what it does to the answer.
 * Faults are applied by the framework around a simulator's `handle()`, so every simulator gets
 * the same set: delays, injected statuses, connection resets, malformed bodies and tampered
 * signatures (through the simulator's own `tamper`).
 */
import { invalid } from '../core/errors.js';
import type { SimulatorResponse } from './contract.js';

/** What a fault does. */
export type FaultKind = 'delay' | 'status' | 'reset' | 'malformed' | 'badSignature' | 'missingSignature';

export const FAULT_KINDS: readonly FaultKind[] = ['delay', 'status', 'reset', 'malformed', 'badSignature', 'missingSignature'];

/** A fault as given to `POST /__sandbox/faults` or `RunningSandbox.fault()`. */
export interface FaultSpec {
  kind: FaultKind;
  /**
   * Which requests: an HTTP method (`GET`), or a regular expression tested against
   * `METHOD path?query` (`/v3/pay/transactions`, `^POST /v1/refunds`) and against the provider's
   * operation name where the path does not say it (Alipay's `alipay.trade.precreate`, from the
   * form body or the query). Absent: every request.
   */
  match?: string;
  /** A regular expression the request body must match too (Alipay's `method=alipay.trade.query`). */
  bodyMatch?: string;
  /** How many requests it hits (default 1); 0 keeps it until cleared. */
  times?: number;
  /** `delay`: how long the answer is held back, ms (the request is processed first). */
  delayMs?: number;
  /** `status`: the status to answer with instead of calling the simulator (default 503). */
  status?: number;
  /** `status`: a Retry-After value (seconds, or an HTTP date). */
  retryAfter?: number | string;
  /** `status`: the body to answer with; `malformed`: the body to serve instead of a truncated one. */
  body?: string;
}

/** A fault in force. */
export interface ActiveFault extends FaultSpec {
  id: number;
  /** Requests it has hit so far. */
  hits: number;
}

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);

function compile(source: string | undefined, field: string): RegExp | undefined {
  if (source === undefined || source === '') return undefined;
  try {
    return new RegExp(source);
  } catch (err) {
    throw invalid(`fault ${field} "${source.slice(0, 60)}" is not a regular expression: ${(err as Error).message}`);
  }
}

/** Checks a fault spec (from JSON, so every field is checked), naming what is wrong. */
export function validateFault(input: unknown): FaultSpec {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw invalid('a fault must be a JSON object: {"kind": "status", "status": 503, ...}');
  const o = input as Record<string, unknown>;
  if (typeof o.kind !== 'string' || !FAULT_KINDS.includes(o.kind as FaultKind)) {
    throw invalid(`fault kind must be one of ${FAULT_KINDS.join(', ')}`);
  }
  const num = (key: string, min: number, max: number): number | undefined => {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalid(`fault ${key} must be a whole number from ${min} to ${max}`);
    return v;
  };
  const str = (key: string): string | undefined => {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw invalid(`fault ${key} must be a string`);
    return v;
  };
  const spec: FaultSpec = { kind: o.kind as FaultKind };
  spec.match = str('match');
  spec.bodyMatch = str('bodyMatch');
  compile(spec.match, 'match');
  compile(spec.bodyMatch, 'bodyMatch');
  spec.times = num('times', 0, 1_000_000);
  spec.delayMs = num('delayMs', 0, 600_000);
  spec.status = num('status', 100, 599);
  spec.body = str('body');
  const ra = o.retryAfter;
  if (ra !== undefined && ra !== null) {
    if (!(typeof ra === 'number' && Number.isInteger(ra) && ra >= 0) && typeof ra !== 'string') throw invalid('fault retryAfter must be seconds or an HTTP date');
    spec.retryAfter = ra as number | string;
  }
  if (spec.kind === 'delay' && spec.delayMs === undefined) throw invalid('a delay fault needs delayMs');
  for (const k of Object.keys(spec) as (keyof FaultSpec)[]) if (spec[k] === undefined) delete spec[k];
  return spec;
}

/** The faults of one listener, in the order they were added. */
export class FaultList {
  private faults: { fault: ActiveFault; match?: RegExp; method?: string; body?: RegExp }[] = [];
  private nextId = 1;

  add(spec: FaultSpec): ActiveFault {
    const s = validateFault(spec);
    const fault: ActiveFault = { ...s, id: this.nextId++, hits: 0 };
    const isMethod = s.match !== undefined && METHODS.has(s.match.toUpperCase()) && /^[A-Za-z]+$/.test(s.match);
    this.faults.push({
      fault,
      method: isMethod ? s.match!.toUpperCase() : undefined,
      match: isMethod ? undefined : compile(s.match, 'match'),
      body: compile(s.bodyMatch, 'bodyMatch'),
    });
    return fault;
  }

  list(): ActiveFault[] {
    return this.faults.map((f) => ({ ...f.fault }));
  }

  clear(): number {
    const n = this.faults.length;
    this.faults = [];
    return n;
  }

  /**
   * The first fault that hits this request (counting the hit, and retiring it when used up).
   * `operation` names the provider's operation when the simulator knows one.
   */
  take(method: string, url: string, body: Buffer, operation?: () => string | undefined): ActiveFault | undefined {
    if (this.faults.length === 0) return undefined;
    const line = `${method} ${url}`;
    let text: string | undefined;
    let op: { name?: string } | undefined;
    const opName = () => (op ??= { name: operation?.() }).name;
    for (let i = 0; i < this.faults.length; i++) {
      const f = this.faults[i];
      if (f.method && f.method !== method) continue;
      if (f.match && !f.match.test(line)) {
        const name = opName();
        if (name === undefined || !f.match.test(name)) continue;
      }
      if (f.body && !f.body.test((text ??= body.toString('utf8')))) continue;
      f.fault.hits++;
      const times = f.fault.times ?? 1;
      if (times > 0 && f.fault.hits >= times) this.faults.splice(i, 1);
      return { ...f.fault };
    }
    return undefined;
  }
}

/** The provider-neutral body of an injected status. */
export function faultBody(status: number): string {
  return JSON.stringify({ error: { code: 'SANDBOX_FAULT', message: `HTTP ${status} injected by the pay sandbox` } });
}

/**
 * A malformed version of an answer: the given body, or the real one cut in half (a truncated
 * JSON or XML document no parser accepts).
 */
export function malform(res: SimulatorResponse, body?: string): SimulatorResponse {
  const headers = { ...(res.headers ?? {}) };
  for (const k of Object.keys(headers)) if (k.toLowerCase() === 'content-length') delete headers[k];
  if (body !== undefined) return { ...res, headers, body };
  const raw = res.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(res.body) ? res.body : Buffer.from(res.body, 'utf8');
  const cut = raw.length > 1 ? raw.subarray(0, Math.ceil(raw.length / 2)) : Buffer.from('<garbled');
  return { ...res, headers, body: Buffer.from(cut) };
}
