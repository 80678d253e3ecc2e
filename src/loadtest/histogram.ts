/**
 * Latency histograms: HdrHistogram (hdr-histogram-js) holding integer microseconds, reported in
 * milliseconds. HDR keeps 3 significant digits over a range of 1 µs to an hour in fixed memory, so
 * percentiles stay exact to 0.1% however many requests a run makes (a sorted array would not).
 */
import * as hdr from 'hdr-histogram-js';

/** The percentiles every report carries (p99.9 is written `p99_9` in JSON). */
export interface LatencySummary {
  /** Requests recorded. */
  count: number;
  min: number;
  mean: number;
  stdev: number;
  p50: number;
  p75: number;
  p90: number;
  p95: number;
  p99: number;
  p99_9: number;
  p99_99: number;
  max: number;
}

/** Percentile points written into the summary's distribution. */
export const DISTRIBUTION_POINTS = [0, 10, 25, 50, 75, 90, 95, 97.5, 99, 99.5, 99.9, 99.95, 99.99, 100] as const;

/** One hour in µs: values above grow the histogram (autoResize) rather than fail. */
const HIGHEST_US = 3_600_000_000;

/**
 * Latencies below this many µs (16 ms) are first counted in a plain array, one increment each, and
 * added to the HDR histogram in one pass when it is next read: the same counts, without HDR's
 * bucket arithmetic (a log2, two pow and a floor) on every request of a fast target.
 */
const PENDING_US = 1 << 14;

/** Rounds ms to µs precision for output. */
function ms(us: number): number {
  return Math.round(us) / 1000;
}

/** A latency histogram in µs. */
export class LatencyHistogram {
  private readonly hist: hdr.Histogram;
  /** Counts by µs not yet in {@link hist} (allocated on the first small value). */
  private pending: Float64Array | undefined;
  /** Lowest and highest index holding a pending count (lo > hi: none). */
  private lo = PENDING_US;
  private hi = -1;

  constructor() {
    this.hist = hdr.build({
      bitBucketSize: 32,
      autoResize: true,
      lowestDiscernibleValue: 1,
      highestTrackableValue: HIGHEST_US,
      numberOfSignificantValueDigits: 3,
      useWebAssembly: false,
    });
  }

  /** Records one latency given in milliseconds (performance.now() differences), `count` times; returns it in whole µs. */
  recordMs(valueMs: number, count = 1): number {
    // Clock steps cannot make a latency negative in performance.now(), but clamp defensively.
    const us = valueMs > 0 ? Math.round(valueMs * 1000) : 0;
    if (us < PENDING_US) {
      (this.pending ??= new Float64Array(PENDING_US))[us] += count;
      if (us < this.lo) this.lo = us;
      if (us > this.hi) this.hi = us;
    } else if (count === 1) this.hist.recordValue(us);
    else this.hist.recordValueWithCount(us, count);
    return us;
  }

  /** The HDR histogram, with the pending counts added first. */
  private get h(): hdr.Histogram {
    if (this.hi >= 0) {
      const p = this.pending!;
      for (let us = this.lo; us <= this.hi; us++) {
        if (p[us] !== 0) {
          this.hist.recordValueWithCount(us, p[us]);
          p[us] = 0;
        }
      }
      this.lo = PENDING_US;
      this.hi = -1;
    }
    return this.hist;
  }

  get count(): number {
    return this.h.totalCount;
  }

  /** The value at percentile `p` (0..100), ms. */
  percentileMs(p: number): number {
    return this.h.totalCount === 0 ? 0 : ms(this.h.getValueAtPercentile(p));
  }

  /** Largest value recorded, ms. */
  maxMs(): number {
    return this.h.totalCount === 0 ? 0 : ms(this.h.maxValue);
  }

  /** Mean, ms. */
  meanMs(): number {
    return this.h.totalCount === 0 ? 0 : ms(this.h.mean);
  }

  /** Summary in ms (zeros when empty). */
  summary(): LatencySummary {
    const h = this.h;
    if (h.totalCount === 0) {
      return { count: 0, min: 0, mean: 0, stdev: 0, p50: 0, p75: 0, p90: 0, p95: 0, p99: 0, p99_9: 0, p99_99: 0, max: 0 };
    }
    return {
      count: h.totalCount,
      min: ms(h.getValueAtPercentile(0)),
      mean: ms(h.mean),
      stdev: ms(h.stdDeviation),
      p50: ms(h.getValueAtPercentile(50)),
      p75: ms(h.getValueAtPercentile(75)),
      p90: ms(h.getValueAtPercentile(90)),
      p95: ms(h.getValueAtPercentile(95)),
      p99: ms(h.getValueAtPercentile(99)),
      p99_9: ms(h.getValueAtPercentile(99.9)),
      p99_99: ms(h.getValueAtPercentile(99.99)),
      max: ms(h.maxValue),
    };
  }

  /** `[percentile, ms]` pairs at {@link DISTRIBUTION_POINTS}. */
  distribution(): [number, number][] {
    return DISTRIBUTION_POINTS.map((p) => [p, this.percentileMs(p)]);
  }

  /**
   * The whole histogram in HdrHistogram's compressed base64 form (µs values), so a later tool
   * can merge runs or compute any percentile without the raw samples.
   */
  encode(): string {
    return hdr.encodeIntoCompressedBase64(this.h);
  }

  /** Adds another histogram's counts. */
  add(other: LatencyHistogram): void {
    this.h.add(other.h);
  }

  /**
   * Becomes `a` minus `b` (`b` holding a subset of `a`'s values): exact counts, so exact
   * percentiles; the maximum is not tracked through it (the caller knows it).
   */
  setDifference(a: LatencyHistogram, b: LatencyHistogram): void {
    this.h.reset();
    this.h.add(a.h);
    this.h.subtract(b.h);
  }

  /**
   * Adds the counts of an {@link encode}d histogram (exact: the encoding keeps every count) whose
   * largest value was `maxMs` (the encoding keeps only its bucket, so it is passed beside it).
   */
  addEncoded(encoded: string, maxMs: number): void {
    const other = hdr.decodeFromCompressedBase64(encoded, 32, false);
    if (other.totalCount > 0) (other as { maxValue: number }).maxValue = Math.round(maxMs * 1000);
    this.h.add(other);
  }

  reset(): void {
    this.h.reset();
  }
}

/** Decodes {@link LatencyHistogram.encode} output into a summary (for baselines and tests). */
export function decodeSummary(encoded: string): { count: number; p50: number; p99: number; max: number } {
  const h = hdr.decodeFromCompressedBase64(encoded, 32, false);
  return { count: h.totalCount, p50: ms(h.getValueAtPercentile(50)), p99: ms(h.getValueAtPercentile(99)), max: ms(h.maxValue) };
}
