/**
 * What one level of a load test records: latencies (HDR histogram), completions and errors by
 * standard code, a per-second series, and the generator's own cost (CPU time and event-loop
 * utilisation over the measured window). Recording is a few counter updates and one histogram
 * write; summaries are computed once a second and at the end.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { LatencyHistogram, type LatencySummary } from './histogram.js';
import type { SendError } from './target.js';

/** One second of the run (completions in that second). */
export interface SeriesPoint {
  /** End of the window, seconds from the start of measurement. */
  t: number;
  requests: number;
  errors: number;
  /** Completions per second over the window (the last window may be shorter than a second). */
  rps: number;
  p50: number;
  p99: number;
  max: number;
}

/** Errors of one standard code. */
export interface ErrorTally {
  count: number;
  /** The first message seen (redacted before output). */
  sample: string;
  /** HTTP statuses behind the errors, when they were HTTP answers. */
  httpStatuses?: Record<string, number>;
}

/** The numbers thresholds and tables read (also the live snapshot during a run). */
export interface LevelNumbers {
  /** Completed requests (successes and errors). */
  requests: number;
  errors: number;
  /** Requests scheduled but never started (open model), counted as failures in `errorRate`. */
  notStarted: number;
  /** (errors + notStarted) / (requests + notStarted), as a fraction. */
  errorRate: number;
  /** Completions per second over the measured window. */
  rps: number;
  /** Measured window, seconds. */
  elapsedSec: number;
  latency: LatencySummary;
  /** Share of started requests that started late (open model), fraction. */
  lateRate?: number;
}

/** Open-model accounting. */
export interface OpenNumbers {
  scheduled: number;
  started: number;
  /** Started more than {@link LATE_AFTER_MS} after the intended time. */
  startedLate: number;
  /** Of those, held back by --max-in-flight. */
  lateDueToCap: number;
  /** Due before the run ended but never started (in-flight cap reached until the end). */
  notStarted: number;
  /** Starts per second over the schedule. */
  startRate: number;
  /** Delay between intended and actual start, ms. */
  startLagMs: { p50: number; p99: number; max: number };
}

/** A request counts as late when it starts more than this after its intended time, ms. */
export const LATE_AFTER_MS = 10;

/** The generator's own cost over the measured window. */
export interface ClientCost {
  cpuUserMs: number;
  cpuSystemMs: number;
  /** CPU microseconds of this process per completed request. */
  cpuUsPerRequest: number;
  /** Event-loop utilisation, 0..1: near 1 means the generator itself was the limit. */
  eventLoopUtilization: number;
}

/**
 * A recorder as plain data (structured-clone safe), for a worker thread to hand its level to the
 * main thread: histograms in their lossless encoding, so merged percentiles are exact.
 */
export interface RecorderState {
  latency: string;
  /** Largest latency, ms (exact; the encoding keeps only its bucket). */
  latencyMax: number;
  startLag: string;
  startLagMax: number;
  completed: number;
  errors: number;
  errorsByCode: [string, ErrorTally][];
  /** Per-second points, each with its window's histogram. */
  series: (SeriesPoint & { hdr: string })[];
  scheduled: number;
  started: number;
  startedLate: number;
  lateDueToCap: number;
  notStarted: number;
  scheduleSpanMs: number;
  /** Measured so far (live) or in all (final), ms. */
  elapsedMs: number;
  cost: ClientCost;
}

/** Records one level. */
export class LevelRecorder {
  readonly latency = new LatencyHistogram();
  /** Each second's latencies: the cumulative histogram minus {@link seen} (one record per request, not two). */
  private readonly window = new LatencyHistogram();
  /** The cumulative histogram as of the last flush. */
  private readonly seen = new LatencyHistogram();
  private windowMaxUs = 0;
  readonly startLag = new LatencyHistogram();
  completed = 0;
  errors = 0;
  readonly errorsByCode = new Map<string, ErrorTally>();
  readonly series: SeriesPoint[] = [];
  // Open model.
  scheduled = 0;
  started = 0;
  startedLate = 0;
  lateDueToCap = 0;
  notStarted = 0;
  /** Measured span of the arrival schedule (open model), ms. */
  scheduleSpanMs = 0;

  /** Start of measurement (performance.now()), set by {@link begin}. */
  t0 = 0;
  private windowStart = 0;
  private nextTick = Infinity;
  private windowCount = 0;
  private windowErrors = 0;
  private cpu0: NodeJS.CpuUsage = { user: 0, system: 0 };
  private elu0: EventLoopUtilization | undefined;
  /** End of measurement, set by {@link finish}. */
  t1 = 0;
  cost: ClientCost = { cpuUserMs: 0, cpuSystemMs: 0, cpuUsPerRequest: 0, eventLoopUtilization: 0 };
  /** Each series point's window histogram, encoded (kept only when {@link keepWindows} is set). */
  private readonly windows: string[] = [];

  /** @param keepWindows keep each second's histogram, so {@link state} can hand the series on exactly. */
  constructor(private readonly keepWindows = false) {}

  /** Marks the start of measurement (after the warm-up). */
  begin(now: number): void {
    this.t0 = now;
    this.windowStart = now;
    this.nextTick = now + 1000;
    this.cpu0 = process.cpuUsage();
    this.elu0 = performance.eventLoopUtilization();
  }

  /** Records a completed request: latency in ms, the failure if any, completion time. */
  record(latencyMs: number, error: SendError | undefined, now: number): void {
    if (now >= this.nextTick) this.tick(now);
    const us = this.latency.recordMs(latencyMs);
    if (us > this.windowMaxUs) this.windowMaxUs = us;
    this.completed++;
    this.windowCount++;
    if (error !== undefined) {
      this.errors++;
      this.windowErrors++;
      this.countError(error);
    }
  }

  /** Counts a failure without a latency (a request abandoned at the end of the drain). */
  countError(error: SendError): void {
    let t = this.errorsByCode.get(error.code);
    if (!t) {
      t = { count: 0, sample: error.message };
      this.errorsByCode.set(error.code, t);
    }
    t.count++;
    if (error.httpStatus !== undefined) {
      t.httpStatuses ??= {};
      const k = String(error.httpStatus);
      t.httpStatuses[k] = (t.httpStatuses[k] ?? 0) + 1;
    }
  }

  /** Records an open-model start: lag behind the intended time, and whether the cap held it. */
  recordStart(lagMs: number, heldByCap: boolean): void {
    this.started++;
    this.startLag.recordMs(lagMs);
    if (lagMs > LATE_AFTER_MS) {
      this.startedLate++;
      if (heldByCap) this.lateDueToCap++;
    }
  }

  /** Closes every whole second that has passed (also seconds with no completions: stalls show). */
  tick(now: number): void {
    while (now >= this.nextTick) {
      this.flush(this.nextTick);
      this.nextTick += 1000;
    }
  }

  private flush(end: number): void {
    const span = (end - this.windowStart) / 1000;
    if (span <= 0) return;
    this.window.setDifference(this.latency, this.seen);
    this.seen.add(this.window);
    this.series.push({
      t: Math.round(((end - this.t0) / 1000) * 1000) / 1000,
      requests: this.windowCount,
      errors: this.windowErrors,
      rps: Math.round((this.windowCount / span) * 10) / 10,
      p50: this.window.percentileMs(50),
      p99: this.window.percentileMs(99),
      max: this.windowCount > 0 ? this.windowMaxUs / 1000 : 0,
    });
    if (this.keepWindows) this.windows.push(this.window.encode());
    this.windowMaxUs = 0;
    this.windowCount = 0;
    this.windowErrors = 0;
    this.windowStart = end;
  }

  /** Ends measurement: the last partial second, and the generator's cost. */
  finish(now: number): void {
    this.tick(now);
    if (now - this.windowStart >= 1 || this.windowCount > 0) this.flush(now);
    this.nextTick = Infinity;
    this.t1 = now;
    const cpu = process.cpuUsage(this.cpu0);
    const elu = this.elu0 ? performance.eventLoopUtilization(this.elu0) : undefined;
    this.cost = {
      cpuUserMs: Math.round(cpu.user / 1000),
      cpuSystemMs: Math.round(cpu.system / 1000),
      cpuUsPerRequest: this.completed > 0 ? Math.round(((cpu.user + cpu.system) / this.completed) * 10) / 10 : 0,
      eventLoopUtilization: elu ? Math.round(elu.utilization * 1000) / 1000 : 0,
    };
  }

  /** Numbers so far (live, during the run) or final (after {@link finish}). */
  numbers(now = this.t1 || performance.now()): LevelNumbers {
    const elapsedSec = Math.max(0, (now - this.t0) / 1000);
    const failed = this.errors + this.notStarted;
    const attempted = this.completed + this.notStarted;
    const out: LevelNumbers = {
      requests: this.completed,
      errors: this.errors,
      notStarted: this.notStarted,
      errorRate: attempted > 0 ? failed / attempted : 0,
      rps: elapsedSec > 0 ? this.completed / elapsedSec : 0,
      elapsedSec,
      latency: this.latency.summary(),
    };
    if (this.scheduled > 0) out.lateRate = this.started > 0 ? this.startedLate / this.started : 0;
    return out;
  }

  /** Cheap numbers for the live progress line: counts, rate and p99 only. */
  live(now: number): { requests: number; errors: number; errorRate: number; rps: number; elapsedSec: number; p99: number } {
    const elapsedSec = Math.max(0, (now - this.t0) / 1000);
    const attempted = this.completed + this.notStarted;
    return {
      requests: this.completed,
      errors: this.errors,
      errorRate: attempted > 0 ? (this.errors + this.notStarted) / attempted : 0,
      rps: elapsedSec > 0 ? this.completed / elapsedSec : 0,
      elapsedSec,
      p99: this.latency.percentileMs(99),
    };
  }

  /** Open-model numbers. */
  open(): OpenNumbers {
    const span = (this.scheduleSpanMs || this.t1 - this.t0) / 1000;
    return {
      scheduled: this.scheduled,
      started: this.started,
      startedLate: this.startedLate,
      lateDueToCap: this.lateDueToCap,
      notStarted: this.notStarted,
      startRate: span > 0 ? Math.round((this.started / span) * 10) / 10 : 0,
      startLagMs: { p50: this.startLag.percentileMs(50), p99: this.startLag.percentileMs(99), max: this.startLag.maxMs() },
    };
  }

  /** This recorder as plain data, live (`now`) or final. */
  state(now = this.t1 || performance.now()): RecorderState {
    return {
      latency: this.latency.encode(),
      latencyMax: this.latency.maxMs(),
      startLag: this.startLag.encode(),
      startLagMax: this.startLag.maxMs(),
      completed: this.completed,
      errors: this.errors,
      errorsByCode: [...this.errorsByCode],
      series: this.series.map((p, i) => ({ ...p, hdr: this.windows[i] ?? '' })),
      scheduled: this.scheduled,
      started: this.started,
      startedLate: this.startedLate,
      lateDueToCap: this.lateDueToCap,
      notStarted: this.notStarted,
      scheduleSpanMs: this.scheduleSpanMs,
      elapsedMs: Math.max(0, now - this.t0),
      cost: this.cost,
    };
  }

  /**
   * One recorder holding several (the worker threads' shares of a level): counts summed,
   * histograms added (exact percentiles), the series merged second by second. The window is
   * the longest of them; the process's CPU time is the largest reading (every thread reads the
   * whole process's), and the event loop the busiest one's.
   */
  static merge(states: RecorderState[], now = performance.now()): LevelRecorder {
    const m = new LevelRecorder();
    let elapsedMs = 0;
    let cpuUser = 0;
    let cpuSystem = 0;
    let elu = 0;
    for (const s of states) {
      m.latency.addEncoded(s.latency, s.latencyMax);
      m.startLag.addEncoded(s.startLag, s.startLagMax);
      m.completed += s.completed;
      m.errors += s.errors;
      for (const [code, t] of s.errorsByCode) {
        const into = m.errorsByCode.get(code);
        if (!into) {
          m.errorsByCode.set(code, { ...t, ...(t.httpStatuses ? { httpStatuses: { ...t.httpStatuses } } : {}) });
          continue;
        }
        into.count += t.count;
        for (const [k, n] of Object.entries(t.httpStatuses ?? {})) {
          into.httpStatuses ??= {};
          into.httpStatuses[k] = (into.httpStatuses[k] ?? 0) + n;
        }
      }
      m.scheduled += s.scheduled;
      m.started += s.started;
      m.startedLate += s.startedLate;
      m.lateDueToCap += s.lateDueToCap;
      m.notStarted += s.notStarted;
      m.scheduleSpanMs = Math.max(m.scheduleSpanMs, s.scheduleSpanMs);
      elapsedMs = Math.max(elapsedMs, s.elapsedMs);
      cpuUser = Math.max(cpuUser, s.cost.cpuUserMs);
      cpuSystem = Math.max(cpuSystem, s.cost.cpuSystemMs);
      elu = Math.max(elu, s.cost.eventLoopUtilization);
    }
    const points = Math.max(0, ...states.map((s) => s.series.length));
    for (let i = 0; i < points; i++) {
      const w = new LatencyHistogram();
      const p: SeriesPoint = { t: 0, requests: 0, errors: 0, rps: 0, p50: 0, p99: 0, max: 0 };
      for (const s of states) {
        const q = s.series[i];
        if (!q) continue;
        p.t = Math.max(p.t, q.t);
        p.requests += q.requests;
        p.errors += q.errors;
        p.rps = Math.round((p.rps + q.rps) * 10) / 10;
        if (q.hdr) w.addEncoded(q.hdr, q.max);
      }
      p.p50 = w.percentileMs(50);
      p.p99 = w.percentileMs(99);
      p.max = w.maxMs();
      m.series.push(p);
    }
    m.t0 = now - elapsedMs;
    m.t1 = now;
    m.cost = {
      cpuUserMs: cpuUser,
      cpuSystemMs: cpuSystem,
      cpuUsPerRequest: m.completed > 0 ? Math.round((((cpuUser + cpuSystem) * 1000) / m.completed) * 10) / 10 : 0,
      eventLoopUtilization: elu,
    };
    return m;
  }
}
