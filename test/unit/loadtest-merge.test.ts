/**
 * `pay loadtest --workers`: what the main thread does with its threads' recorders. Merged counts,
 * percentiles and per-second series equal those of one recorder fed every value; the load is
 * split into whole shares that add up to the level.
 */
import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../src/loadtest/histogram.js';
import { LevelRecorder } from '../../src/loadtest/stats.js';
import { shares, splitEvenly } from '../../src/loadtest/workers.js';
import { parseWorkers } from '../../src/loadtest/options.js';
import { isPayError } from '../../src/core/errors.js';
import type { SendError } from '../../src/loadtest/target.js';

/** A deterministic spread of latencies (ms) with a long tail. */
function latencies(n: number, seed: number): number[] {
  let x = seed;
  const out = [];
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const u = x / 2147483648;
    out.push(u < 0.99 ? 0.2 + u * 3 : 50 + u * 400);
  }
  return out;
}

const TIMEOUT: SendError = { code: 'TIMEOUT', message: 'slow' };
const HTTP500: SendError = { code: 'SYSTEM_ERROR', message: 'HTTP 500', httpStatus: 500 };

describe('merging the worker threads recorders', () => {
  it('percentiles, counts, errors and the per-second series equal one recorder fed everything', () => {
    const parts = [latencies(20_000, 1), latencies(13_000, 2), latencies(7_000, 3)];
    const one = new LevelRecorder();
    const each = parts.map(() => new LevelRecorder(true));
    one.begin(0);
    for (const r of each) r.begin(0);
    for (const [k, values] of parts.entries()) {
      for (const [i, v] of values.entries()) {
        // Spread over 3.5 s; every 97th request fails, with two codes.
        const at = (i / values.length) * 3500;
        const error = i % 97 === 0 ? (i % 2 ? TIMEOUT : HTTP500) : undefined;
        each[k].record(v, error, at);
      }
    }
    // The single recorder sees the same values in time order.
    const all = parts.flatMap((values, k) => values.map((v, i) => ({ v, at: (i / values.length) * 3500, error: i % 97 === 0 ? (i % 2 ? TIMEOUT : HTTP500) : undefined, k })));
    all.sort((a, b) => a.at - b.at);
    for (const x of all) one.record(x.v, x.error, x.at);
    one.finish(3500);
    for (const r of each) r.finish(3500);

    const merged = LevelRecorder.merge(each.map((r) => r.state()));
    const m = merged.numbers();
    const o = one.numbers();
    expect(m.requests).toBe(40_000);
    expect(m.requests).toBe(each.reduce((a, r) => a + r.completed, 0));
    expect(m.latency).toEqual(o.latency);
    expect(m.errors).toBe(o.errors);
    expect(m.elapsedSec).toBeCloseTo(3.5, 6);
    expect(merged.latency.distribution()).toEqual(one.latency.distribution());
    expect(merged.latency.encode()).toBe(one.latency.encode());
    expect(Object.fromEntries(merged.errorsByCode)).toEqual(Object.fromEntries(one.errorsByCode));
    expect(merged.errorsByCode.get('SYSTEM_ERROR')!.httpStatuses).toEqual({ '500': one.errorsByCode.get('SYSTEM_ERROR')!.count });
    expect(merged.series.map(({ t, requests, errors, p50, p99, max }) => ({ t, requests, errors, p50, p99, max }))).toEqual(
      one.series.map(({ t, requests, errors, p50, p99, max }) => ({ t, requests, errors, p50, p99, max })),
    );
    // A tail the threads saw unevenly is still where one histogram puts it.
    expect(m.latency.p99_9).toBeGreaterThan(50);
  });

  it("each second's p50, p99 and max are those of that second's requests alone", () => {
    const rec = new LevelRecorder();
    rec.begin(0);
    const seconds = [latencies(3000, 7), latencies(500, 8).map((v) => v * 10), latencies(2000, 9)];
    for (const [k, values] of seconds.entries()) for (const [i, v] of values.entries()) rec.record(v, undefined, k * 1000 + (i / values.length) * 999);
    rec.finish(3000);
    expect(rec.series).toHaveLength(3);
    for (const [k, values] of seconds.entries()) {
      const alone = new LatencyHistogram();
      for (const v of values) alone.recordMs(v);
      expect(rec.series[k], `second ${k + 1}`).toMatchObject({ requests: values.length, p50: alone.percentileMs(50), p99: alone.percentileMs(99), max: alone.maxMs() });
    }
  });

  it('a live merge measures from the threads elapsed time', () => {
    const a = new LevelRecorder(true);
    a.begin(100);
    a.record(1, undefined, 600);
    const merged = LevelRecorder.merge([a.state(1100)], 5000);
    expect(merged.live(5000)).toMatchObject({ requests: 1, elapsedSec: 1 });
  });
});

describe('splitting a level over threads', () => {
  it('shares are whole numbers that add up to the level', () => {
    expect(splitEvenly(50, 2)).toEqual([25, 25]);
    expect(splitEvenly(7, 3)).toEqual([3, 2, 2]);
    const closed = shares({ model: 'closed', key: 'c5', label: '5 workers', concurrency: 5 }, { requests: 101, warmupMs: 0, drainMs: 1000 }, 2);
    expect(closed.map((s) => [(s.plan as { concurrency: number }).concurrency, s.bounds.requests])).toEqual([
      [3, 51],
      [2, 50],
    ]);
    // Fewer connections than threads: only as many threads as connections.
    expect(shares({ model: 'closed', key: 'c1', label: '1 worker', concurrency: 1 }, { durationMs: 1000, warmupMs: 0, drainMs: 1000 }, 4)).toHaveLength(1);
    const open = shares({ model: 'open', key: 'r300', label: '300/s', from: 300, to: 900, maxInFlight: 9 }, { durationMs: 1000, warmupMs: 0, drainMs: 1000 }, 3);
    expect(open.map((s) => s.plan)).toEqual(Array(3).fill({ model: 'open', key: 'r300', label: '300/s', from: 100, to: 300, maxInFlight: 3 }));
  });

  it('--workers is 1 to 4 per core, else a usage error', () => {
    expect(parseWorkers('2', 2)).toBe(2);
    expect(parseWorkers('8', 2)).toBe(8);
    for (const bad of ['0', '9', '-1', '1.5', 'two', '']) {
      let err: unknown;
      try {
        parseWorkers(bad, 2);
      } catch (e) {
        err = e;
      }
      expect(isPayError(err) && err.exitCode === 2, bad).toBe(true);
      expect((err as Error).message).toMatch(/from 1 to 8 \(4 per core, 2 cores here\)/);
    }
  });
});
