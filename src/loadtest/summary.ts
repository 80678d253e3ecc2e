/**
 * The load-test summary: one JSON document (`--out`, `--json`) holding the configuration, each
 * level's statistics (percentiles, the full HDR histogram, errors by code, per-second series,
 * the generator's own cost), the threshold results and the environment. A summary is also what
 * `--baseline` reads back, so its shape is versioned.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import * as hdr from 'hdr-histogram-js';
import { invalid } from '../core/errors.js';
import { redactText } from '../core/redact.js';
import type { LatencySummary } from './histogram.js';
import type { LevelOutcome, LevelPlan } from './runner.js';
import type { ClientCost, ErrorTally, OpenNumbers, SeriesPoint } from './stats.js';
import type { MetricSource, ThresholdResult } from './thresholds.js';

/** Format tag of the summary document. */
export const SUMMARY_FORMAT = 'pay-loadtest-summary';
export const SUMMARY_VERSION = 1;

/** One level in the summary. */
export interface LevelReport {
  /** Stable key used to match baselines: `c50` (closed, 50 workers), `r200` or `r100-1000` (open). */
  key: string;
  /** For people: `50 workers`, `200/s`, `100→1000/s`. */
  label: string;
  model: 'closed' | 'open';
  concurrency?: number;
  rate?: { from: number; to: number };
  maxInFlight?: number;
  /** Measured window (warm-up excluded, drain included), seconds. */
  elapsedSec: number;
  /** Completed requests (successes and errors). */
  requests: number;
  ok: number;
  errors: number;
  /** Scheduled but never started (open model). */
  notStarted: number;
  /** (errors + notStarted) / (requests + notStarted). */
  errorRate: number;
  rps: number;
  latencyMs: LatencySummary;
  /** `[percentile, ms]` pairs. */
  distribution: [number, number][];
  /** The full histogram (µs) in HdrHistogram compressed base64. */
  hdr: string;
  errorsByCode: Record<string, ErrorTally>;
  /** Per-worker throughput against the first level's (closed model lists). */
  efficiency?: number;
  open?: OpenNumbers;
  client: ClientCost;
  series: SeriesPoint[];
  /** Why the level stopped early, if it did. */
  stoppedBy?: string;
  /** Requests abandoned at the end of the drain (counted as TIMEOUT errors). */
  unfinished: number;
}

/** The whole summary. */
export interface LoadtestSummary {
  format: typeof SUMMARY_FORMAT;
  version: typeof SUMMARY_VERSION;
  startedAt: string;
  finishedAt: string;
  /** The run's configuration (secrets redacted). */
  config: Record<string, unknown>;
  target: Record<string, unknown>;
  levels: LevelReport[];
  thresholds: ThresholdResult[];
  /** True when every threshold passed and the run was not stopped early. */
  passed: boolean;
  /** Set when the run stopped before its bound (`--abort-on-fail`, Ctrl-C). */
  aborted?: { reason: string; level: string };
  environment: Record<string, unknown>;
}

const r3 = (n: number) => Math.round(n * 1000) / 1000;

/** Builds a level's report from what the runner recorded. */
export function levelReport(plan: LevelPlan, outcome: LevelOutcome): LevelReport {
  const rec = outcome.recorder;
  const n = rec.numbers();
  const errorsByCode: Record<string, ErrorTally> = {};
  for (const [code, t] of [...rec.errorsByCode].sort((a, b) => b[1].count - a[1].count)) {
    errorsByCode[code] = { ...t, sample: redactText(t.sample) };
  }
  const report: LevelReport = {
    key: plan.key,
    label: plan.label,
    model: plan.model,
    elapsedSec: r3(n.elapsedSec),
    requests: n.requests,
    ok: n.requests - n.errors,
    errors: n.errors,
    notStarted: n.notStarted,
    errorRate: Math.round(n.errorRate * 1e6) / 1e6,
    rps: Math.round(n.rps * 10) / 10,
    latencyMs: n.latency,
    distribution: rec.latency.distribution(),
    hdr: rec.latency.encode(),
    errorsByCode,
    client: rec.cost,
    series: rec.series,
    unfinished: outcome.unfinished,
  };
  if (plan.model === 'closed') report.concurrency = plan.concurrency;
  else {
    report.rate = { from: plan.from, to: plan.to };
    report.maxInFlight = plan.maxInFlight;
    report.open = rec.open();
  }
  if (outcome.stoppedBy) report.stoppedBy = outcome.stoppedBy;
  return report;
}

/** Fills in closed-model efficiency: per-worker throughput against the first level. */
export function addEfficiency(levels: LevelReport[]): void {
  const first = levels.find((l) => l.model === 'closed' && l.concurrency && l.rps > 0);
  if (!first || levels.length < 2) return;
  const perWorker0 = first.rps / first.concurrency!;
  for (const l of levels) {
    if (l.model === 'closed' && l.concurrency) l.efficiency = Math.round((l.rps / l.concurrency / perWorker0) * 1000) / 1000;
  }
}

/** A metric source over a finished level report (the current run's, or a baseline's). */
export function reportSource(level: LevelReport): MetricSource {
  let decoded: hdr.Histogram | undefined;
  const known: Record<string, number> = {
    '50': level.latencyMs.p50,
    '75': level.latencyMs.p75,
    '90': level.latencyMs.p90,
    '95': level.latencyMs.p95,
    '99': level.latencyMs.p99,
    '99.9': level.latencyMs.p99_9,
    '99.99': level.latencyMs.p99_99,
    '100': level.latencyMs.max,
  };
  return {
    latencyAt(p: number) {
      const k = known[String(p)];
      if (k !== undefined) return k;
      if (typeof level.hdr === 'string' && level.hdr) {
        decoded ??= hdr.decodeFromCompressedBase64(level.hdr, 32, false);
        return decoded.totalCount === 0 ? 0 : Math.round(decoded.getValueAtPercentile(p)) / 1000;
      }
      // Without the histogram, the nearest stored point at or above p (conservative).
      const pt = level.distribution?.find(([q]) => q >= p);
      return pt ? pt[1] : level.latencyMs.max;
    },
    maxMs: level.latencyMs.max,
    meanMs: level.latencyMs.mean,
    errorRate: level.errorRate,
    lateRate: level.open ? (level.open.started > 0 ? level.open.startedLate / level.open.started : 0) : undefined,
    rps: level.rps,
  };
}

/** Reads a baseline summary written by `--out`; a missing or foreign file is a usage error. */
export function loadBaseline(path: string): LoadtestSummary {
  return loadSummary(path, 'baseline');
}

/** Reads a summary written by `--out` (`role` names it in errors); a missing or foreign file is a usage error. */
export function loadSummary(path: string, role: 'baseline' | 'summary'): LoadtestSummary {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw invalid(`cannot read ${role} ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { hint: 'Give a summary written earlier with --out.' });
  }
  let doc: Partial<LoadtestSummary>;
  try {
    doc = JSON.parse(text) as Partial<LoadtestSummary>;
  } catch (err) {
    throw invalid(`${role} ${path} is not JSON: ${(err as Error).message}`, { hint: 'Give a summary written earlier with --out.' });
  }
  if (doc?.format !== SUMMARY_FORMAT || !Array.isArray(doc.levels)) {
    throw invalid(`${role} ${path} is not a pay loadtest summary`, { hint: 'Give a file written by `pay loadtest --out`.' });
  }
  if (doc.version !== SUMMARY_VERSION) throw invalid(`${role} ${path} has summary version ${String(doc.version)}; this pay reads version ${SUMMARY_VERSION}`);
  for (const l of doc.levels) {
    if (!l || typeof l.key !== 'string' || typeof l.rps !== 'number' || !l.latencyMs || typeof l.latencyMs.p99 !== 'number') {
      throw invalid(`${role} ${path} has a malformed level`, { hint: 'Give a file written by `pay loadtest --out`.' });
    }
  }
  return doc as LoadtestSummary;
}

/** The baseline level with the same key: like is compared with like (same workers or rate). */
export function baselineLevel(baseline: LoadtestSummary, key: string): LevelReport | undefined {
  return baseline.levels.find((l) => l.key === key);
}

/** The machine and runtime a run happened on (numbers depend on them). */
export function environment(payVersion: string): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    pay: payVersion,
    node: process.version,
    undici: undiciVersion(),
    platform: process.platform,
    arch: process.arch,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model?.trim(),
    memoryMb: Math.round(os.totalmem() / 1048576),
    loadAverage: os.loadavg().map((n) => Math.round(n * 100) / 100),
  };
}

function undiciVersion(): string | undefined {
  try {
    const url = new URL(import.meta.resolve('undici/package.json'));
    return (JSON.parse(readFileSync(url, 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}
