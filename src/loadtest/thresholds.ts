/**
 * Pass/fail thresholds for CI: `p99<250ms`, `p95<=0.1s`, `max<2s`, `mean<50ms`, `errors<1%`,
 * `late<5%`, `rps>1000`, `success_rate>0.99` (a fraction or a percentage), and, against a baseline summary, `p99<+10%` (at most 10% slower) or
 * `rps>-5%` (at most 5% less throughput). A malformed expression is a usage error (exit 2) raised
 * before anything runs.
 */
import { invalid } from '../core/errors.js';

/** Comparison operators. */
export type ThresholdOp = '<' | '<=' | '>' | '>=';

/** What a threshold reads. */
export type ThresholdMetric =
  | { kind: 'percentile'; p: number }
  | { kind: 'max' }
  | { kind: 'mean' }
  | { kind: 'errors' }
  | { kind: 'successRate' }
  | { kind: 'late' }
  | { kind: 'rps' };

/** A parsed threshold. Latencies in ms, rates as fractions, throughput in requests/s. */
export interface Threshold {
  /** As the user wrote it. */
  expr: string;
  /** Canonical metric name: `p99`, `p99.9`, `max`, `mean`, `errors`, `late`, `rps`. */
  name: string;
  metric: ThresholdMetric;
  op: ThresholdOp;
  /** Absolute limit (ms, fraction or req/s), when not relative. */
  value?: number;
  /** Relative change allowed against the baseline (+0.10 for `+10%`), when relative. */
  relative?: number;
}

/** Where a threshold's actual value comes from (a live recorder, a final level, a baseline). */
export interface MetricSource {
  /** Latency at percentile p (0..100), ms. */
  latencyAt(p: number): number;
  maxMs: number;
  meanMs: number;
  /** Fraction of failed requests. */
  errorRate: number;
  /** Fraction of successful requests, where it is not 1 - errorRate. */
  successRate?: number;
  /** Fraction of started requests that started late (open model); undefined for closed runs. */
  lateRate?: number;
  rps: number;
}

/** One evaluated threshold on one level. */
export interface ThresholdResult {
  expr: string;
  /** The level it was checked on, as labelled in the tables (`50 workers`, `200/s`). */
  level: string;
  actual: number;
  limit: number;
  /** Unit of actual and limit: `ms`, `%` (values already in percent) or `req/s`. */
  unit: 'ms' | '%' | 'req/s';
  pass: boolean;
  /** Why it could not be evaluated, if so (counts as a failure). */
  note?: string;
  /** Baseline value, for relative thresholds. */
  baseline?: number;
}

const SHAPE = /^\s*([a-z][a-z_]*[0-9.]*)\s*(<=|>=|<|>)\s*([+-]?)(\d+(?:\.\d+)?)\s*([a-zµ%/]*)\s*$/i;

const HINT = 'Write e.g. p99<250ms, p95<0.1s, max<2s, errors<1%, late<5%, rps>1000, or against --baseline p99<+10%, rps>-5%.';

/** Parses one threshold expression; throws INVALID_REQUEST (exit 2) when malformed. */
export function parseThreshold(expr: string): Threshold {
  const m = SHAPE.exec(expr);
  if (!m) throw invalid(`threshold "${expr}" is not <metric><op><value>`, { hint: HINT });
  const [, rawName, op, sign, digits, rawUnit] = m;
  const name = rawName.toLowerCase();
  const unit = rawUnit.toLowerCase();
  const num = Number(digits);
  let metric: ThresholdMetric;
  let canonical = name;
  if (/^p\d+(\.\d+)?$/.test(name)) {
    const p = Number(name.slice(1));
    if (!(p > 0 && p <= 100)) throw invalid(`threshold "${expr}": percentile ${name.slice(1)} is not between 0 and 100`, { hint: 'p99.9 is written with its dot.' });
    metric = { kind: 'percentile', p };
    canonical = `p${p}`;
  } else if (name === 'max' || name === 'mean' || name === 'errors' || name === 'late' || name === 'rps') {
    metric = { kind: name };
  } else if (name === 'error' || name === 'error_rate') {
    metric = { kind: 'errors' };
    canonical = 'errors';
  } else if (name === 'success_rate' || name === 'success') {
    metric = { kind: 'successRate' };
    canonical = 'success_rate';
  } else {
    throw invalid(`threshold "${expr}": unknown metric "${rawName}"`, { hint: `Metrics: pNN (p50, p99, p99.9), max, mean, errors, success_rate, late, rps. ${HINT}` });
  }
  const base: Omit<Threshold, 'value' | 'relative'> = { expr: expr.trim(), name: canonical, metric, op: op as ThresholdOp };

  if (sign) {
    // Relative to the baseline: only latencies and throughput have a meaningful ratio.
    if (unit !== '%') throw invalid(`threshold "${expr}": a signed value is a change against --baseline and needs %`, { hint: HINT });
    if (metric.kind === 'errors' || metric.kind === 'late' || metric.kind === 'successRate') {
      throw invalid(`threshold "${expr}": ${canonical} takes an absolute limit such as ${canonical}<1%`, { hint: 'Relative limits apply to latencies and rps.' });
    }
    return { ...base, relative: (sign === '-' ? -num : num) / 100 };
  }
  switch (metric.kind) {
    case 'errors':
    case 'late':
      if (unit !== '%') throw invalid(`threshold "${expr}": ${canonical} is a percentage, e.g. ${canonical}<1%`, { hint: HINT });
      if (num > 100) throw invalid(`threshold "${expr}": ${num}% is more than 100%`);
      return { ...base, value: num / 100 };
    case 'successRate':
      // A fraction (0.95) or a percentage (95%).
      if (unit === '%') {
        if (num > 100) throw invalid(`threshold "${expr}": ${num}% is more than 100%`);
        return { ...base, value: num / 100 };
      }
      if (unit !== '' || num > 1) throw invalid(`threshold "${expr}": success_rate is a fraction or a percentage, e.g. success_rate<0.95 or success_rate<95%`, { hint: HINT });
      return { ...base, value: num };
    case 'rps':
      if (unit !== '' && unit !== '/s' && unit !== 'rps') throw invalid(`threshold "${expr}": rps is a number of requests per second, e.g. rps>1000`, { hint: HINT });
      return { ...base, value: num };
    default: {
      const scale = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'us' || unit === 'µs' ? 0.001 : undefined;
      if (scale === undefined) {
        throw invalid(`threshold "${expr}": a latency needs a unit (ms, s or us)${unit === '%' ? '; a change against --baseline is signed, e.g. p99<+10%' : ''}`, { hint: HINT });
      }
      return { ...base, value: num * scale };
    }
  }
}

/** The value of a threshold's metric in a source, in the unit the results use. */
function read(t: Threshold, s: MetricSource): number | undefined {
  switch (t.metric.kind) {
    case 'percentile':
      return s.latencyAt(t.metric.p);
    case 'max':
      return s.maxMs;
    case 'mean':
      return s.meanMs;
    case 'errors':
      return s.errorRate;
    case 'successRate':
      return s.successRate ?? 1 - s.errorRate;
    case 'late':
      return s.lateRate;
    case 'rps':
      return s.rps;
  }
}

function unitOf(t: Threshold): ThresholdResult['unit'] {
  return t.metric.kind === 'errors' || t.metric.kind === 'late' || t.metric.kind === 'successRate' ? '%' : t.metric.kind === 'rps' ? 'req/s' : 'ms';
}

function compare(actual: number, op: ThresholdOp, limit: number): boolean {
  switch (op) {
    case '<':
      return actual < limit;
    case '<=':
      return actual <= limit;
    case '>':
      return actual > limit;
    case '>=':
      return actual >= limit;
  }
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/** Evaluates a threshold on a level; `baseline` is the matching baseline level, if any. */
export function evaluateThreshold(t: Threshold, level: string, source: MetricSource, baseline?: MetricSource): ThresholdResult {
  const unit = unitOf(t);
  const pct = unit === '%' ? 100 : 1;
  const actual = read(t, source);
  if (actual === undefined) {
    return { expr: t.expr, level, actual: 0, limit: 0, unit, pass: false, note: `${t.name} applies to open-model runs (--rate) only` };
  }
  let limit: number;
  let base: number | undefined;
  if (t.relative !== undefined) {
    base = baseline ? read(t, baseline) : undefined;
    if (base === undefined) return { expr: t.expr, level, actual: round(actual * pct), limit: 0, unit, pass: false, note: 'no baseline value for this level' };
    limit = base * (1 + t.relative);
  } else {
    limit = t.value!;
  }
  const out: ThresholdResult = { expr: t.expr, level, actual: round(actual * pct), limit: round(limit * pct), unit, pass: compare(actual, t.op, limit) };
  if (base !== undefined) out.baseline = round(base * pct);
  return out;
}

/**
 * True when a threshold can stop a run early (`--abort-on-fail`): latencies, errors and lateness
 * settle quickly, but throughput climbs while connections open, so `rps` waits for the end.
 */
export function abortable(t: Threshold): boolean {
  return t.metric.kind !== 'rps';
}
