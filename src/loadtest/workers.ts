/**
 * `pay loadtest --url ... --workers N`: the load spread over N worker threads, each running the
 * same runner over its own connections (worker.ts), the main thread merging what they recorded.
 *
 * A level's connections (closed model) or rate and in-flight cap (open model), and a
 * `--requests` bound, are split as evenly as whole numbers allow; a level smaller than N runs on
 * fewer threads. Every second each thread hands the main thread its recorder (histograms in
 * their lossless encoding), which merges them for the progress line and `--abort-on-fail`; at
 * the end the merged recorder (counts summed, HDR histograms added, so percentiles are exact) is
 * what the level reports, thresholds and summary read, exactly as on one thread.
 */
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { statusDetails } from './http-codes.js';
import { LevelRecorder, type RecorderState } from './stats.js';
import type { LoadtestOptions } from './options.js';
import type { LevelBounds, LevelControl, LevelOutcome, LevelPlan } from './runner.js';

/** Main thread to worker. */
export type ToWorker = { type: 'level'; plan: LevelPlan; bounds: LevelBounds } | { type: 'halt'; reason: string } | { type: 'close' };

/** Worker to main thread. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'tick'; state: RecorderState }
  | { type: 'done'; state: RecorderState; stoppedBy?: string; unfinished: number }
  | { type: 'closed'; details: Record<string, unknown> }
  | { type: 'failed'; message: string };

/** What a worker thread starts from. */
export interface WorkerData {
  opts: Omit<LoadtestOptions, 'signal'>;
  timeoutMs: number;
}

/** `total` split into `parts` whole numbers differing by at most one (larger first). */
export function splitEvenly(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  return Array.from({ length: parts }, (_, i) => base + (i < total % parts ? 1 : 0));
}

/** Each thread's share of a level (as many shares as threads it can keep busy). */
export function shares(plan: LevelPlan, bounds: LevelBounds, threads: number): { plan: LevelPlan; bounds: LevelBounds }[] {
  let n = threads;
  if (plan.model === 'closed') n = Math.min(n, plan.concurrency);
  else n = Math.min(n, plan.maxInFlight);
  if (bounds.requests !== undefined) n = Math.min(n, bounds.requests);
  const requests = bounds.requests !== undefined ? splitEvenly(bounds.requests, n) : undefined;
  const conc = plan.model === 'closed' ? splitEvenly(plan.concurrency, n) : undefined;
  const caps = plan.model === 'open' ? splitEvenly(plan.maxInFlight, n) : undefined;
  return Array.from({ length: n }, (_, i) => ({
    plan: plan.model === 'closed' ? { ...plan, concurrency: conc![i] } : { ...plan, from: plan.from / n, to: plan.to / n, maxInFlight: caps![i] },
    bounds: requests ? { ...bounds, requests: requests[i] } : bounds,
  }));
}

/** Sums the threads' target details (HTTP statuses, connections, connects), and lists each thread's. */
function mergeDetails(list: Record<string, unknown>[]): Record<string, unknown> {
  const statuses = new Map<number, number>();
  let connections = 0;
  let connects = 0;
  const perWorker = [];
  for (const d of list) {
    let answers = 0;
    for (const [k, n] of Object.entries((d.httpStatuses ?? {}) as Record<string, number>)) {
      statuses.set(Number(k), (statuses.get(Number(k)) ?? 0) + n);
      answers += n;
    }
    connections += Number(d.connections ?? 0);
    connects += Number(d.connects ?? 0);
    perWorker.push({ connections: Number(d.connections ?? 0), connects: Number(d.connects ?? 0), answers });
  }
  return { ...list[0], httpStatuses: statusDetails(statuses), connections, connects, workers: perWorker };
}

/** The worker threads of a run. */
export class WorkerPool {
  private listener: ((i: number, m: FromWorker) => void) | undefined;
  private failure: ((err: Error) => void) | undefined;
  private closing: Promise<Record<string, unknown>> | undefined;

  private constructor(private readonly workers: Worker[]) {
    for (const [i, w] of workers.entries()) {
      w.on('message', (m: FromWorker) => {
        if (m.type === 'failed') this.failure?.(new Error(`load-test worker ${i + 1} failed: ${m.message}`));
        else this.listener?.(i, m);
      });
      w.on('error', (err) => this.failure?.(err));
    }
  }

  /** Starts `n` threads, each with its own target; resolves when all are ready. */
  static async start(n: number, opts: LoadtestOptions, timeoutMs: number): Promise<WorkerPool> {
    const { signal: _signal, ...plain } = opts;
    const data: WorkerData = { opts: plain, timeoutMs };
    const url = new URL('./worker.js', import.meta.url);
    const workers = Array.from({ length: n }, () => new Worker(url, { workerData: data }));
    const pool = new WorkerPool(workers);
    await pool.collect(workers.length, 'ready');
    return pool;
  }

  /** Waits for one message of `type` from each of the first `count` threads. */
  private collect<T extends FromWorker>(count: number, type: T['type'], onOther?: (i: number, m: FromWorker) => void): Promise<T[]> {
    return new Promise((resolve, reject) => {
      const got: T[] = [];
      let left = count;
      this.failure = (err) => {
        this.listener = undefined;
        reject(err);
      };
      this.listener = (i, m) => {
        if (m.type !== type) {
          onOther?.(i, m);
          return;
        }
        got[i] = m as T;
        if (--left === 0) {
          this.listener = undefined;
          resolve(got);
        }
      };
    });
  }

  private post(i: number, m: ToWorker): void {
    this.workers[i].postMessage(m);
  }

  /** Runs one level on the threads and returns the merged outcome. */
  async runLevel(plan: LevelPlan, bounds: LevelBounds, control: LevelControl = {}): Promise<LevelOutcome> {
    const parts = shares(plan, bounds, this.workers.length);
    const latest: (RecorderState | undefined)[] = parts.map(() => undefined);
    let haltedBy: string | undefined;
    const haltAll = (reason: string) => {
      if (haltedBy !== undefined) return;
      haltedBy = reason;
      for (let i = 0; i < parts.length; i++) this.post(i, { type: 'halt', reason });
    };
    const onAbort = () => haltAll('interrupted');
    control.signal?.addEventListener('abort', onAbort, { once: true });
    const ticker = setInterval(() => {
      const states = latest.filter((s): s is RecorderState => s !== undefined);
      if (states.length === 0 || !control.onTick) return;
      const now = performance.now();
      const reason = control.onTick(LevelRecorder.merge(states, now), now);
      if (reason) haltAll(reason);
    }, 1000);
    try {
      const done = this.collect<Extract<FromWorker, { type: 'done' }>>(parts.length, 'done', (i, m) => {
        if (m.type === 'tick') latest[i] = m.state;
      });
      for (const [i, p] of parts.entries()) this.post(i, { type: 'level', ...p });
      const results = await done;
      return {
        recorder: LevelRecorder.merge(results.map((r) => r.state)),
        stoppedBy: haltedBy ?? results.find((r) => r.stoppedBy)?.stoppedBy,
        unfinished: results.reduce((a, r) => a + r.unfinished, 0),
      };
    } finally {
      clearInterval(ticker);
      control.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Closes every thread's connections and returns their target details, summed. */
  close(): Promise<Record<string, unknown>> {
    this.closing ??= (async () => {
      try {
        const closed = this.collect<Extract<FromWorker, { type: 'closed' }>>(this.workers.length, 'closed');
        for (let i = 0; i < this.workers.length; i++) this.post(i, { type: 'close' });
        // A thread that died earlier never answers: give up on its details after a while.
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('load-test workers did not close in time')), 5000);
        });
        try {
          return mergeDetails((await Promise.race([closed, late])).map((c) => c.details));
        } finally {
          clearTimeout(timer);
        }
      } finally {
        await Promise.all(this.workers.map((w) => w.terminate()));
      }
    })();
    return this.closing;
  }
}
