/**
 * `pay loadtest` options: the flags as typed, their parsers, and the plan (levels, bounds,
 * thresholds, baseline) validated before any target is opened or a request is sent.
 */
import { availableParallelism } from 'node:os';
import { invalid } from '../core/errors.js';
import type { LoadOp, OpMix } from './channel-target.js';
import type { LevelBounds, LevelPlan } from './runner.js';
import type { LoadtestSummary } from './summary.js';
import type { Threshold } from './thresholds.js';

/** Options of `pay loadtest` (strings as typed; parsed here). */
export interface LoadtestOptions {
  channel?: string;
  url?: string;
  method?: string;
  header?: string[];
  /** Body text, or `@file`. */
  body?: string;
  op?: string;
  mix?: string;
  amount?: string;
  currency?: string;
  concurrency?: string;
  rate?: string;
  duration?: string;
  requests?: string;
  warmup?: string;
  maxInFlight?: string;
  timeout?: string;
  threshold?: string[];
  baseline?: string;
  abortOnFail?: boolean;
  out?: string;
  /** Also write the run as an HTML page (`load.html`). */
  report?: string;
  allowLive?: boolean;
  seedOrders?: string;
  /** The global `--db` flag as given (not $PAY_DB): only an explicit flag records orders. */
  db?: string;
  /** `--url` runs: worker threads sharing the connections (1 to 4 per core). */
  workers?: string;
  /** Stops the run early (the CLI wires Ctrl-C to it). */
  signal?: AbortSignal;
}

/** Default cap on open-model requests in flight. */
export const DEFAULT_MAX_IN_FLIGHT = 256;
/** Default orders created before a query or refund run. */
export const DEFAULT_SEED_ORDERS = 200;

export const OPS = ['collect', 'query', 'refund', 'mixed'] as const;

/** Parses a duration: `10` (seconds), `10s`, `500ms`, `2m`. Returns ms. */
export function parseDuration(input: string, flag: string, allowZero = false): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/i.exec(String(input));
  if (!m) throw invalid(`${flag} "${input}" is not a duration`, { hint: `Give seconds (10), or 10s, 500ms, 2m.` });
  const n = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  const ms = unit === 'ms' ? n : unit === 'm' ? n * 60_000 : n * 1000;
  if (!Number.isFinite(ms) || ms < 0 || (!allowZero && ms === 0)) throw invalid(`${flag} must be more than zero`);
  if (ms > 24 * 3600_000) throw invalid(`${flag} ${input} is longer than a day`, { hint: 'Split very long soak tests into runs of at most 24 h.' });
  return Math.round(ms);
}

export function positiveInt(input: string, flag: string, max: number): number {
  const text = String(input).trim();
  if (!/^\d+$/.test(text) || Number(text) < 1) throw invalid(`${flag} "${input}" is not a positive whole number`);
  const n = Number(text);
  if (n > max) throw invalid(`${flag} ${n} is more than ${max.toLocaleString('en')}`);
  return n;
}

/** Parses `--workers n`: 1 to four per core of this machine. */
export function parseWorkers(input: string, cores = availableParallelism()): number {
  const max = cores * 4;
  const text = String(input).trim();
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max) {
    throw invalid(`--workers "${input}" is not a whole number from 1 to ${max} (4 per core, ${cores} core${cores === 1 ? '' : 's'} here)`, {
      hint: 'e.g. --workers 2: each worker thread drives its share of the connections.',
    });
  }
  return Number(text);
}

/** Parses `--concurrency 1,10,50`. */
export function parseConcurrency(input: string): number[] {
  const list = String(input)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (list.length === 0) throw invalid('--concurrency needs at least one number', { hint: 'e.g. --concurrency 50 or --concurrency 1,10,50,100' });
  const levels = list.map((s) => positiveInt(s, '--concurrency', 10_000));
  if (new Set(levels).size !== levels.length) throw invalid(`--concurrency ${input} repeats a level`);
  return levels;
}

/** Parses `--rate 200/s` or `--rate 100:1000/s` (the `/s` is optional). */
export function parseRate(input: string): { from: number; to: number } {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?::\s*(\d+(?:\.\d+)?))?\s*(?:\/\s*s)?\s*$/i.exec(String(input));
  if (!m) throw invalid(`--rate "${input}" is not a rate`, { hint: 'Give requests per second: --rate 200/s, or a ramp --rate 100:1000/s.' });
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (to <= 0 || (m[2] === undefined && from <= 0)) throw invalid(`--rate ${input}: the rate must be more than zero`);
  if (from > 1_000_000 || to > 1_000_000) throw invalid(`--rate ${input} is more than 1,000,000/s`);
  return { from, to };
}

/** Parses `--mix collect=50,query=40,refund=10`. */
export function parseMix(input: string): OpMix {
  const mix: OpMix = {};
  for (const part of String(input).split(',')) {
    const m = /^\s*(collect|query|refund)\s*=\s*(\d+(?:\.\d+)?)\s*$/.exec(part);
    if (!m) throw invalid(`--mix "${input}" is not op=weight pairs`, { hint: 'e.g. --mix collect=50,query=40,refund=10' });
    mix[m[1] as LoadOp] = Number(m[2]);
  }
  if (!Object.values(mix).some((w) => (w ?? 0) > 0)) throw invalid('--mix needs at least one positive weight');
  return mix;
}

/** Everything parsed from the options, before any target exists. */
export interface Plan {
  levels: LevelPlan[];
  bounds: Omit<LevelBounds, 'drainMs'>;
  timeoutMs: number;
  thresholds: Threshold[];
  baseline?: LoadtestSummary;
  /** Worker threads (`--workers`), when given. */
  workers?: number;
  config: Record<string, unknown>;
}

/** Validates every option (usage errors, exit 2) before anything is opened or sent. */
export async function makePlan(opts: LoadtestOptions): Promise<Plan> {
  if (opts.concurrency !== undefined && opts.rate !== undefined) throw invalid('give --concurrency (closed model) or --rate (open model), not both');
  if (opts.concurrency === undefined && opts.rate === undefined) {
    throw invalid('missing --concurrency or --rate', { hint: 'Closed model: --concurrency 50 (or 1,10,50,100). Open model: --rate 200/s (or a ramp 100:1000/s).' });
  }
  if (opts.duration !== undefined && opts.requests !== undefined) throw invalid('give --duration or --requests, not both');
  if (opts.duration === undefined && opts.requests === undefined) {
    throw invalid('missing --duration or --requests: every load test is bounded', { hint: 'e.g. --duration 30s or --requests 10000.' });
  }
  const durationMs = opts.duration !== undefined ? parseDuration(opts.duration, '--duration') : undefined;
  const requests = opts.requests !== undefined ? positiveInt(opts.requests, '--requests', 1_000_000_000) : undefined;
  // A short warm-up by default on timed runs: connections open and JIT settles outside the numbers.
  const warmupMs = opts.warmup !== undefined ? parseDuration(opts.warmup, '--warmup', true) : durationMs !== undefined ? 1000 : 0;
  const timeoutMs = opts.timeout !== undefined ? parseDuration(opts.timeout, '--timeout') : 30_000;
  const workers = opts.workers !== undefined ? parseWorkers(opts.workers) : undefined;
  if (workers !== undefined && opts.url === undefined) {
    throw invalid('--workers applies to --url runs', { hint: 'A channel run goes through its adapter on the main thread; --workers spreads a raw HTTP load over threads.' });
  }

  let levels: LevelPlan[];
  if (opts.concurrency !== undefined) {
    if (opts.maxInFlight !== undefined) throw invalid('--max-in-flight applies to the open model (--rate); with --concurrency the workers are the limit');
    levels = parseConcurrency(opts.concurrency).map((n) => ({ model: 'closed', key: `c${n}`, label: `${n} worker${n === 1 ? '' : 's'}`, concurrency: n }));
  } else {
    const { from, to } = parseRate(opts.rate!);
    const maxInFlight = opts.maxInFlight !== undefined ? positiveInt(opts.maxInFlight, '--max-in-flight', 100_000) : DEFAULT_MAX_IN_FLIGHT;
    const key = from === to ? `r${from}` : `r${from}-${to}`;
    const label = from === to ? `${from}/s` : `${from}-${to}/s`;
    levels = [{ model: 'open', key, label, from, to, maxInFlight }];
  }

  const { parseThreshold } = await import('./thresholds.js');
  const thresholds = (opts.threshold ?? []).map(parseThreshold);
  const late = thresholds.find((t) => t.metric.kind === 'late');
  if (late && levels[0].model === 'closed') throw invalid(`threshold ${late.expr}: lateness exists only in the open model (--rate)`);
  let baseline: LoadtestSummary | undefined;
  if (opts.baseline !== undefined) {
    const { loadBaseline, baselineLevel } = await import('./summary.js');
    baseline = loadBaseline(opts.baseline);
    for (const l of levels) {
      if (!baselineLevel(baseline, l.key)) {
        throw invalid(`baseline ${opts.baseline} has no level ${l.label} (it has ${baseline.levels.map((b) => b.label).join(', ') || 'none'})`, {
          hint: 'Compare like with like: run the same --concurrency or --rate as the baseline.',
        });
      }
    }
  } else if (thresholds.some((t) => t.relative !== undefined)) {
    throw invalid(`relative threshold ${thresholds.find((t) => t.relative !== undefined)!.expr} needs --baseline <summary.json>`);
  }

  const config: Record<string, unknown> = {
    model: levels[0].model,
    ...(levels[0].model === 'closed' ? { concurrency: levels.map((l) => (l as { concurrency: number }).concurrency) } : {}),
    ...(levels[0].model === 'open' ? { rate: { from: (levels[0] as { from: number }).from, to: (levels[0] as { to: number }).to }, maxInFlight: (levels[0] as { maxInFlight: number }).maxInFlight } : {}),
    ...(durationMs !== undefined ? { durationSec: durationMs / 1000 } : { requests }),
    warmupSec: warmupMs / 1000,
    timeoutMs,
    thresholds: thresholds.map((t) => t.expr),
    ...(opts.baseline ? { baseline: opts.baseline } : {}),
    abortOnFail: Boolean(opts.abortOnFail),
    ...(workers !== undefined ? { workers } : {}),
  };
  return { levels, bounds: { durationMs, requests, warmupMs }, timeoutMs, thresholds, baseline, workers, config };
}
