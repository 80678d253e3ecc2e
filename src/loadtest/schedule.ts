/**
 * Arrival schedule of the open model: when the i-th request is meant to start. A warm-up at the
 * starting rate comes first, then either a constant rate or a linear ramp from `from` to `to`
 * requests per second. Start times come from a closed form (no accumulated float drift), so
 * request 100,000 is as punctual as request 1.
 */

/** A schedule, times in ms from the start of the level (warm-up included). */
export interface ArrivalSchedule {
  /** Requests in the warm-up (not measured). */
  readonly warmupCount: number;
  /** Requests in the measured part. */
  readonly measuredCount: number;
  /** End of warm-up, ms. */
  readonly warmupMs: number;
  /** End of the schedule, ms (warm-up plus the measured span). */
  readonly endMs: number;
  /** Intended start of request `i` (0-based, warm-up first), ms. */
  at(i: number): number;
}

/** Options: rates in requests/s; the measured part is bounded by `durationMs` or `requests`. */
export interface ScheduleOptions {
  from: number;
  to: number;
  warmupMs: number;
  durationMs?: number;
  requests?: number;
}

/**
 * Builds the schedule. For a ramp, the rate at time t is from + (to - from) * t / D, so the number
 * of starts by t is N(t) = from*t + (to - from)*t^2 / (2D) and request j starts at the root of
 * N(t) = j. Bounded by `requests`, D is the span that holds exactly that many: 2n / (from + to).
 */
export function arrivalSchedule(o: ScheduleOptions): ArrivalSchedule {
  const a = o.from / 1000;
  const b = o.to / 1000; // per ms
  const warmupCount = Math.floor(a * o.warmupMs);
  // The warm-up's own span ends where its last request would be followed by the next one.
  const warmupMs = o.warmupMs;
  let spanMs: number;
  let measuredCount: number;
  if (o.requests !== undefined) {
    measuredCount = o.requests;
    spanMs = (2 * o.requests) / (a + b);
  } else {
    spanMs = o.durationMs ?? 0;
    measuredCount = Math.floor(((a + b) / 2) * spanMs);
  }
  const slope = spanMs > 0 ? (b - a) / spanMs : 0; // rate change per ms, per ms
  const ramp = Math.abs(slope) > 1e-15;
  const at = (i: number): number => {
    if (i < warmupCount) return i / a;
    const j = i - warmupCount;
    if (j === 0) return warmupMs;
    if (!ramp) return warmupMs + j / a;
    // Root of (slope/2) t^2 + a t - j = 0, written to stay exact when slope is small.
    return warmupMs + (2 * j) / (a + Math.sqrt(a * a + 2 * slope * j));
  };
  return { warmupCount, measuredCount, warmupMs, endMs: warmupMs + spanMs, at };
}
