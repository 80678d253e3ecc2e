/**
 * The load generator: runs one level of a load test against a target.
 *
 * Closed model: N workers, each starting its next request when the last one answers. Latency is
 * the request's own time; throughput is what the target sustains at that concurrency.
 *
 * Open model: requests start on a schedule whatever happened to earlier ones. Latency is measured
 * from the intended start, so a stall that delays starts is counted against the target rather
 * than hidden (no coordinated omission). In-flight requests are capped; a request held back by
 * the cap starts as soon as a slot frees and is counted late, and one still waiting when the
 * schedule ends is counted as not started. Nothing is dropped silently.
 *
 * Both models measure only requests started after the warm-up, record every completion (errors
 * included, so slow failures are not hidden), and end with a drain bounded by `drainMs`: requests
 * still running then are counted as TIMEOUT errors.
 */
import { performance } from 'node:perf_hooks';
import { LevelRecorder } from './stats.js';
import { arrivalSchedule, type ArrivalSchedule } from './schedule.js';
import type { Done, SendError, Target } from './target.js';

/** One level of a run. */
export type LevelPlan =
  | { model: 'closed'; key: string; label: string; concurrency: number }
  | { model: 'open'; key: string; label: string; from: number; to: number; maxInFlight: number };

/** How long a level runs. Exactly one of `durationMs` and `requests` is set. */
export interface LevelBounds {
  durationMs?: number;
  requests?: number;
  warmupMs: number;
  /** Longest wait for in-flight requests after the level ends, ms. */
  drainMs: number;
}

/** Hooks into a running level. */
export interface LevelControl {
  /**
   * Called about once a second while measuring; returning a reason stops the level at once
   * (`--abort-on-fail`).
   */
  onTick?(recorder: LevelRecorder, now: number): string | undefined;
  /** Aborting it stops the level (Ctrl-C); a string reason is reported as why. */
  signal?: AbortSignal;
  /** Keep each second's histogram (a worker thread hands them to the main thread). */
  keepWindows?: boolean;
}

/** What a level produced. */
export interface LevelOutcome {
  recorder: LevelRecorder;
  /** Why the level stopped before its bound, if it did. */
  stoppedBy?: string;
  /** Requests still in flight when the drain time ran out (counted as TIMEOUT errors). */
  unfinished: number;
}

const ABANDONED: SendError = { code: 'TIMEOUT', message: 'still in flight when the run ended (drain time ran out)' };

/** A closed-model worker or an open-model slot: one request in flight at a time. */
class Flight {
  start = 0;
  measured = false;
  busy = false;
  retired = false;
  readonly done: Done;
  constructor(onDone: (f: Flight, error: SendError | undefined) => void) {
    this.done = (error) => onDone(this, error);
  }
}

/** Runs one level. */
export function runLevel(target: Target, plan: LevelPlan, bounds: LevelBounds, control: LevelControl = {}): Promise<LevelOutcome> {
  return plan.model === 'closed' ? runClosed(target, plan.concurrency, bounds, control) : runOpen(target, plan, bounds, control);
}

/** Shared life cycle of a level: measurement start, ticks, stop, drain, end. */
abstract class LevelRun {
  readonly rec: LevelRecorder;
  readonly start = performance.now();
  readonly measureAt: number;
  measuring = false;
  stopping = false;
  finished = false;
  stoppedBy: string | undefined;
  inFlight = 0;
  unfinished = 0;
  /** Non-zero while inside `target.send` (a target may fail a request synchronously). */
  sending = 0;
  readonly flights: Flight[] = [];
  private ticker: NodeJS.Timeout | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  private resolve!: (o: LevelOutcome) => void;
  readonly promise: Promise<LevelOutcome>;
  /** Ctrl-C, or a reason given to `abort()` (the main thread halting its worker threads). */
  private readonly onAbort = () => this.halt(typeof this.control.signal?.reason === 'string' ? this.control.signal.reason : 'interrupted');

  constructor(
    readonly target: Target,
    readonly bounds: LevelBounds,
    readonly control: LevelControl,
  ) {
    this.rec = new LevelRecorder(control.keepWindows);
    this.measureAt = this.start + bounds.warmupMs;
    this.promise = new Promise((r) => (this.resolve = r));
    this.ticker = setInterval(() => this.tick(), 1000);
    control.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Starts measuring once the warm-up is over (called from every path that sees the time). */
  checkMeasuring(now: number): void {
    if (!this.measuring && now >= this.measureAt) {
      this.measuring = true;
      this.rec.begin(this.measureAt);
    }
  }

  private tick(): void {
    const now = performance.now();
    this.checkMeasuring(now);
    this.onTick(now);
    if (!this.measuring || this.finished) return;
    this.rec.tick(now);
    const reason = this.control.onTick?.(this.rec, now);
    if (reason) this.halt(reason);
  }

  /** Per-model work on the 1 s tick. */
  protected onTick(_now: number): void {}

  /** Stops early for `reason`. */
  halt(reason: string): void {
    if (this.stopping || this.finished) return;
    this.stoppedBy = reason;
    this.beginStop();
  }

  /** No more starts; waits for in-flight requests (bounded by drainMs). */
  beginStop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.onStop();
    if (this.inFlight === 0) {
      this.end();
      return;
    }
    this.drainTimer = setTimeout(() => this.abandon(), this.bounds.drainMs);
  }

  protected onStop(): void {}

  private abandon(): void {
    if (this.finished) return;
    const now = performance.now();
    for (const f of this.flights) {
      if (!f.busy) continue;
      f.retired = true;
      this.unfinished++;
      if (f.measured) this.rec.record(now - f.start, ABANDONED, now);
    }
    this.inFlight = 0;
    this.end();
  }

  /** Called when a request completes. Returns false when the level is over. */
  completed(f: Flight, error: SendError | undefined, now: number): boolean {
    f.busy = false;
    this.inFlight--;
    if (f.measured) this.rec.record(now - f.start, error, now);
    if (this.stopping) {
      if (this.inFlight === 0) this.end();
      return false;
    }
    return true;
  }

  end(): void {
    if (this.finished) return;
    this.finished = true;
    clearInterval(this.ticker);
    clearTimeout(this.drainTimer);
    this.onEnd();
    this.control.signal?.removeEventListener('abort', this.onAbort);
    const now = performance.now();
    if (!this.measuring) {
      // Ended inside the warm-up (interrupted): an empty, zero-length measurement.
      this.measuring = true;
      this.rec.begin(now);
    }
    this.rec.finish(now);
    this.resolve({ recorder: this.rec, stoppedBy: this.stoppedBy, unfinished: this.unfinished });
  }

  protected onEnd(): void {}

  /** Sends through the target, noting that a synchronous `done` is re-entrant. */
  send(f: Flight): void {
    this.sending++;
    try {
      this.target.send(f.done);
    } finally {
      this.sending--;
    }
  }
}

class ClosedRun extends LevelRun {
  private readonly stopAt: number;
  private readonly limit: number;
  private issued = 0;
  private lastTurn: number;
  private stopTimer: NodeJS.Timeout | undefined;

  constructor(target: Target, concurrency: number, bounds: LevelBounds, control: LevelControl) {
    super(target, bounds, control);
    this.stopAt = bounds.durationMs !== undefined ? this.measureAt + bounds.durationMs : Infinity;
    this.limit = bounds.requests ?? Infinity;
    this.lastTurn = this.start;
    // Workers blocked on a stalled target issue nothing; a timer still ends the level on time.
    if (Number.isFinite(this.stopAt)) this.stopTimer = setTimeout(() => this.beginStop(), this.stopAt - this.start);
    const onDone = (f: Flight, error: SendError | undefined) => this.onDone(f, error);
    for (let i = 0; i < concurrency; i++) this.flights.push(new Flight(onDone));
    for (const f of this.flights) this.issue(f);
  }

  /** Starts `f`'s next request; `now` is passed by a completion on the same turn (one clock read per request). */
  private issue(f: Flight, now = performance.now()): void {
    if (this.stopping || this.finished) return;
    this.checkMeasuring(now);
    if (now >= this.stopAt || (this.measuring && this.issued >= this.limit)) {
      this.beginStop();
      return;
    }
    f.start = now;
    f.measured = this.measuring;
    if (this.measuring) this.issued++;
    f.busy = true;
    this.inFlight++;
    this.send(f);
  }

  private onDone(f: Flight, error: SendError | undefined): void {
    if (f.retired) return;
    const now = performance.now();
    if (!this.completed(f, error, now)) return;
    // A request failed inside send() must not recurse into the next send; and an in-process
    // target answers in microtasks: yield now and then so timers and I/O get their turn.
    if (this.sending > 0 || (this.target.inProcess && now - this.lastTurn > 5)) this.issueLater(f);
    else this.issue(f, now);
  }

  /**
   * Issues `f` on the next turn. A closure of its own, out of onDone: a function holding a closure
   * allocates its context on every call, so onDone would allocate for every request.
   */
  private issueLater(f: Flight): void {
    setImmediate(() => {
      this.lastTurn = performance.now();
      this.issue(f, this.lastTurn);
    });
  }

  protected override onTick(now: number): void {
    this.lastTurn = now;
  }

  protected override onEnd(): void {
    clearTimeout(this.stopTimer);
  }
}

class OpenRun extends LevelRun {
  private readonly schedule: ArrivalSchedule;
  private readonly total: number;
  private readonly cap: number;
  private next = 0;
  /** Schedule time (ms from start) up to which due requests found the cap full. */
  private capHitAt = -1;
  private readonly pool: Flight[] = [];
  private pumpTimer: NodeJS.Timeout | undefined;
  private endTimer: NodeJS.Timeout | undefined;
  private readonly onDoneFn = (f: Flight, error: SendError | undefined) => this.onDone(f, error);

  constructor(target: Target, plan: Extract<LevelPlan, { model: 'open' }>, bounds: LevelBounds, control: LevelControl) {
    super(target, bounds, control);
    this.cap = plan.maxInFlight;
    this.schedule = arrivalSchedule({ from: plan.from, to: plan.to, warmupMs: bounds.warmupMs, durationMs: bounds.durationMs, requests: bounds.requests });
    this.total = this.schedule.warmupCount + this.schedule.measuredCount;
    this.rec.scheduled = this.schedule.measuredCount;
    this.rec.scheduleSpanMs = this.schedule.endMs - this.schedule.warmupMs;
    this.endTimer = setTimeout(() => this.endOfSchedule(), this.schedule.endMs);
    this.pump();
  }

  private pump(): void {
    if (this.stopping || this.finished) return;
    const now = performance.now();
    this.checkMeasuring(now);
    this.launchDue(now);
    if (this.next >= this.total) {
      this.beginStop();
      return;
    }
    // While capped, a completion calls pump; otherwise wake for the next intended start.
    if (this.inFlight < this.cap && this.pumpTimer === undefined) this.wake(Math.max(0, this.schedule.at(this.next) - (now - this.start)));
  }

  /** Pumps again in `ms` (its closure kept out of pump, which runs on every completion; see issueLater). */
  private wake(ms: number): void {
    this.pumpTimer = setTimeout(() => {
      this.pumpTimer = undefined;
      this.pump();
    }, ms);
  }

  /** Starts every request that is due, as far as the in-flight cap allows. */
  private launchDue(now: number): void {
    const rel = now - this.start;
    const s = this.schedule;
    while (this.next < this.total) {
      const at = s.at(this.next);
      if (at > rel) break;
      if (this.inFlight >= this.cap) {
        this.capHitAt = rel;
        break;
      }
      // Advance first: a request that fails inside send() re-enters pump.
      this.launch(this.next++, at, now);
    }
  }

  private launch(i: number, at: number, now: number): void {
    const f = this.pool.pop() ?? this.newFlight();
    f.start = this.start + at;
    f.measured = i >= this.schedule.warmupCount;
    f.busy = true;
    if (f.measured) this.rec.recordStart(now - f.start, at <= this.capHitAt);
    this.inFlight++;
    this.send(f);
  }

  private newFlight(): Flight {
    const f = new Flight(this.onDoneFn);
    this.flights.push(f);
    return f;
  }

  private onDone(f: Flight, error: SendError | undefined): void {
    if (f.retired) return;
    // Latency runs from the intended start (f.start), not from when the request got out.
    if (!this.completed(f, error, performance.now())) return;
    this.pool.push(f);
    // Inside send() the launching loop is still running and picks up the freed slot itself.
    if (this.sending === 0) this.pump();
  }

  /** The schedule is over: launch what is due and can start, count the rest, drain. */
  private endOfSchedule(): void {
    if (this.stopping || this.finished) return;
    const now = performance.now();
    this.checkMeasuring(now);
    this.launchDue(now);
    this.beginStop();
  }

  protected override onStop(): void {
    clearTimeout(this.pumpTimer);
    this.pumpTimer = undefined;
    // Requests due by now but never started (held by the cap): counted, never dropped silently.
    const rel = performance.now() - this.start;
    const first = Math.max(this.next, this.schedule.warmupCount);
    let lo = first;
    let hi = this.total;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.schedule.at(mid) <= rel) lo = mid + 1;
      else hi = mid;
    }
    this.rec.notStarted = lo - first;
  }

  protected override onEnd(): void {
    clearTimeout(this.endTimer);
    clearTimeout(this.pumpTimer);
  }
}

function runClosed(target: Target, concurrency: number, bounds: LevelBounds, control: LevelControl): Promise<LevelOutcome> {
  return new ClosedRun(target, concurrency, bounds, control).promise;
}

function runOpen(target: Target, plan: Extract<LevelPlan, { model: 'open' }>, bounds: LevelBounds, control: LevelControl): Promise<LevelOutcome> {
  return new OpenRun(target, plan, bounds, control).promise;
}
