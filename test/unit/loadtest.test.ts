/**
 * Load-test parts called directly: threshold grammar, the arrival schedule, the operation mix,
 * histograms, status mapping, option parsing, and the runner against in-process fake targets
 * (exact counts, early stop, the in-flight cap, abandoned requests).
 */
import { describe, expect, it } from 'vitest';
import { parseConcurrency, parseDuration, parseMix, parseRate, isLoopbackHost } from '../../src/commands/loadtest.js';
import { WeightedCycle } from '../../src/loadtest/channel-target.js';
import * as hdr from 'hdr-histogram-js';
import { LatencyHistogram, decodeSummary } from '../../src/loadtest/histogram.js';
import { codeForNetworkError, codeForStatus } from '../../src/loadtest/http-target.js';
import { runLevel } from '../../src/loadtest/runner.js';
import { arrivalSchedule } from '../../src/loadtest/schedule.js';
import { evaluateThreshold, parseThreshold, type MetricSource } from '../../src/loadtest/thresholds.js';
import type { Done, Target } from '../../src/loadtest/target.js';
import { isPayError } from '../../src/core/errors.js';

function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(isPayError(err) && err.code === 'INVALID_REQUEST' && err.exitCode === 2).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('thresholds', () => {
  it('parses absolute and relative expressions', () => {
    expect(parseThreshold('p99<250ms')).toMatchObject({ name: 'p99', metric: { kind: 'percentile', p: 99 }, op: '<', value: 250 });
    expect(parseThreshold('p99.9 <= 1.5s')).toMatchObject({ name: 'p99.9', metric: { p: 99.9 }, op: '<=', value: 1500 });
    expect(parseThreshold('p50<800us')).toMatchObject({ value: 0.8 });
    expect(parseThreshold('max<2s')).toMatchObject({ metric: { kind: 'max' }, value: 2000 });
    expect(parseThreshold('success_rate<0.95')).toMatchObject({ name: 'success_rate', metric: { kind: 'successRate' }, op: '<', value: 0.95 });
    expect(parseThreshold('success_rate>=99.5%')).toMatchObject({ value: 0.995 });
    expect(() => parseThreshold('success_rate<95')).toThrow(/fraction or a percentage/);
    expect(evaluateThreshold(parseThreshold('success_rate<0.95'), 'x', { latencyAt: () => 0, maxMs: 0, meanMs: 0, errorRate: 0.1, rps: 0 })).toMatchObject({ actual: 90, limit: 95, pass: true });
    expect(parseThreshold('errors<1%')).toMatchObject({ metric: { kind: 'errors' }, value: 0.01 });
    expect(parseThreshold('late<=5%')).toMatchObject({ metric: { kind: 'late' }, op: '<=', value: 0.05 });
    expect(parseThreshold('rps>1000')).toMatchObject({ metric: { kind: 'rps' }, op: '>', value: 1000 });
    expect(parseThreshold('p99<+10%')).toMatchObject({ relative: 0.1 });
    expect(parseThreshold('p99<+10%').value).toBeUndefined();
    expect(parseThreshold('rps>-5%')).toMatchObject({ relative: -0.05 });
  });

  it('refuses malformed expressions with a usage error', () => {
    expect(usageError(() => parseThreshold('p99<<250ms'))).toMatch(/<metric><op><value>/);
    expect(usageError(() => parseThreshold('p99<250'))).toMatch(/needs a unit/);
    expect(usageError(() => parseThreshold('p99<10%'))).toMatch(/signed/);
    expect(usageError(() => parseThreshold('p101<1ms'))).toMatch(/not between 0 and 100/);
    expect(usageError(() => parseThreshold('errors<1'))).toMatch(/percentage/);
    expect(usageError(() => parseThreshold('errors<+1%'))).toMatch(/absolute limit/);
    expect(usageError(() => parseThreshold('errors<120%'))).toMatch(/more than 100%/);
    expect(usageError(() => parseThreshold('rps>10ms'))).toMatch(/requests per second/);
    expect(usageError(() => parseThreshold('p99<+10ms'))).toMatch(/needs %/);
    expect(usageError(() => parseThreshold('latency<1ms'))).toMatch(/unknown metric/);
    expect(usageError(() => parseThreshold(''))).toMatch(/not <metric>/);
  });

  it('evaluates against a level and against a baseline', () => {
    const source = (p99: number, rps: number, errorRate = 0): MetricSource => ({ latencyAt: (p) => (p === 99 ? p99 : 1), maxMs: p99 * 2, meanMs: 1, errorRate, rps });
    expect(evaluateThreshold(parseThreshold('p99<250ms'), 'c50', source(200, 10))).toMatchObject({ pass: true, actual: 200, limit: 250, unit: 'ms' });
    expect(evaluateThreshold(parseThreshold('p99<250ms'), 'c50', source(250, 10))).toMatchObject({ pass: false });
    expect(evaluateThreshold(parseThreshold('p99<=250ms'), 'c50', source(250, 10))).toMatchObject({ pass: true });
    expect(evaluateThreshold(parseThreshold('errors<1%'), 'c50', source(1, 1, 0.02))).toMatchObject({ pass: false, actual: 2, limit: 1, unit: '%' });
    expect(evaluateThreshold(parseThreshold('rps>1000'), 'c50', source(1, 1500))).toMatchObject({ pass: true, unit: 'req/s' });
    const base = source(100, 2000);
    expect(evaluateThreshold(parseThreshold('p99<+10%'), 'c50', source(109, 1), base)).toMatchObject({ pass: true, limit: 110, baseline: 100 });
    expect(evaluateThreshold(parseThreshold('p99<+10%'), 'c50', source(111, 1), base)).toMatchObject({ pass: false });
    expect(evaluateThreshold(parseThreshold('rps>-5%'), 'c50', source(1, 1890), base)).toMatchObject({ pass: false, limit: 1900 });
    // Without a baseline value, or for a closed run's `late`, the threshold fails with a note.
    expect(evaluateThreshold(parseThreshold('p99<+10%'), 'c50', source(1, 1))).toMatchObject({ pass: false, note: expect.stringMatching(/baseline/) });
    expect(evaluateThreshold(parseThreshold('late<1%'), 'c50', source(1, 1))).toMatchObject({ pass: false, note: expect.stringMatching(/open-model/) });
  });
});

describe('arrival schedule', () => {
  it('a constant rate starts request i at i / rate, after the warm-up', () => {
    const s = arrivalSchedule({ from: 200, to: 200, warmupMs: 500, durationMs: 3000 });
    expect(s.warmupCount).toBe(100);
    expect(s.measuredCount).toBe(600);
    expect(s.at(0)).toBe(0);
    expect(s.at(99)).toBeCloseTo(495, 6);
    expect(s.at(100)).toBe(500);
    expect(s.at(101)).toBeCloseTo(505, 6);
    expect(s.at(699)).toBeCloseTo(3495, 6);
    expect(s.endMs).toBe(3500);
  });

  it('a ramp follows the integral of a linear rate, without drift', () => {
    const s = arrivalSchedule({ from: 100, to: 1000, warmupMs: 0, durationMs: 10_000 });
    expect(s.measuredCount).toBe(5500);
    // N(t) = 100 t + 45 t^2 (t in s): half-way, 50 + 112.5... = 550 requests at 5 s? N(5) = 500 + 1125 = 1625.
    expect(s.at(1625)).toBeCloseTo(5000, 3);
    let prev = -1;
    for (let i = 0; i < s.measuredCount; i++) {
      const t = s.at(i);
      expect(t).toBeGreaterThan(prev);
      prev = t;
    }
    expect(s.at(s.measuredCount - 1)).toBeLessThan(10_000);
    // Ramping down and starting from zero work too.
    const down = arrivalSchedule({ from: 1000, to: 100, warmupMs: 0, durationMs: 10_000 });
    expect(down.at(down.measuredCount - 1)).toBeLessThanOrEqual(10_000);
    const fromZero = arrivalSchedule({ from: 0, to: 100, warmupMs: 0, durationMs: 2000 });
    expect(fromZero.measuredCount).toBe(100);
    expect(fromZero.at(0)).toBe(0);
    expect(fromZero.at(25)).toBeCloseTo(1000, 3);
  });

  it('bounded by a request count, the span holds exactly that many', () => {
    const s = arrivalSchedule({ from: 100, to: 300, warmupMs: 0, requests: 400 });
    expect(s.measuredCount).toBe(400);
    expect(s.endMs).toBeCloseTo(2000, 6);
  });
});

describe('operation mix', () => {
  it('keeps exact proportions, evenly interleaved', () => {
    const cycle = new WeightedCycle<string>([
      ['collect', 5],
      ['query', 3],
      ['refund', 2],
    ]);
    const counts: Record<string, number> = {};
    const first: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const op = cycle.next();
      counts[op] = (counts[op] ?? 0) + 1;
      if (i < 10) first.push(op);
    }
    expect(counts).toEqual({ collect: 500, query: 300, refund: 200 });
    expect(new Set(first.slice(0, 4)).size).toBeGreaterThan(1);
    expect(parseMix('collect=50,query=40,refund=10')).toEqual({ collect: 50, query: 40, refund: 10 });
    expect(usageError(() => parseMix('collect=1,pay=2'))).toMatch(/op=weight/);
    expect(usageError(() => parseMix('collect=0'))).toMatch(/positive weight/);
  });
});

describe('histogram', () => {
  it('percentiles of 1..1000 ms to 3 significant digits', () => {
    const h = new LatencyHistogram();
    for (let v = 1; v <= 1000; v++) h.recordMs(v);
    const s = h.summary();
    expect(s.count).toBe(1000);
    expect(Math.abs(s.p50 - 500) / 500).toBeLessThan(0.002);
    expect(Math.abs(s.p99 - 990) / 990).toBeLessThan(0.002);
    expect(Math.abs(s.max - 1000) / 1000).toBeLessThan(0.002);
    expect(Math.abs(s.mean - 500.5) / 500.5).toBeLessThan(0.002);
    const d = decodeSummary(h.encode());
    expect(d).toMatchObject({ count: 1000, p50: s.p50, p99: s.p99 });
    // Values past an hour grow the histogram instead of failing.
    h.recordMs(2 * 3600_000);
    expect(h.maxMs()).toBeGreaterThan(7_190_000);
  });

  it('small values counted aside first hold exactly what HDR recording each one holds', () => {
    const h = new LatencyHistogram();
    const direct = hdr.build({ bitBucketSize: 32, autoResize: true, lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false });
    let x = 7;
    const check = () => {
      expect(h.encode()).toBe(hdr.encodeIntoCompressedBase64(direct));
      expect(h.summary()).toMatchObject({ count: direct.totalCount, max: direct.maxValue / 1000, p99: direct.getValueAtPercentile(99) / 1000 });
    };
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 5000; i++) {
        x = (x * 1103515245 + 12345) % 2147483648;
        // Mostly under 16 ms (counted aside), some exactly at the edge, some far above; zero and negatives clamp.
        const ms = i % 97 === 0 ? 16.384 : i % 89 === 0 ? 16.383 : i % 13 === 0 ? 20 + (x % 100_000) : i % 501 === 0 ? -1 : (x % 16_000) / 1000;
        const count = i % 7 === 0 ? 3 : 1;
        const us = h.recordMs(ms, count);
        direct.recordValueWithCount(Math.max(0, Math.round(ms * 1000)), count);
        expect(us).toBe(Math.max(0, Math.round(ms * 1000)));
      }
      // Reads in between settle what was counted aside; nothing is added twice.
      check();
      check();
    }
    const copy = new LatencyHistogram();
    copy.recordMs(0.5);
    copy.add(h);
    direct.recordValue(500);
    expect(copy.encode()).toBe(hdr.encodeIntoCompressedBase64(direct));
    h.reset();
    expect(h.summary().count).toBe(0);
    h.recordMs(1);
    expect(h.summary()).toMatchObject({ count: 1, p50: 1, max: 1 });
  });
});

describe('HTTP outcome mapping', () => {
  it('maps statuses and network failures onto standard codes', () => {
    expect([200, 204, 302].map(codeForStatus)).toEqual([undefined, undefined, undefined]);
    expect([400, 401, 403, 404, 408, 429, 500, 503, 504].map(codeForStatus)).toEqual([
      'INVALID_REQUEST',
      'AUTHENTICATION_FAILED',
      'AUTHENTICATION_FAILED',
      'INVALID_REQUEST',
      'TIMEOUT',
      'RATE_LIMITED',
      'SYSTEM_ERROR',
      'SYSTEM_ERROR',
      'TIMEOUT',
    ]);
    expect(codeForNetworkError(Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' })).code).toBe('TIMEOUT');
    expect(codeForNetworkError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })).code).toBe('CHANNEL_ERROR');
  });
});

describe('option parsing', () => {
  it('durations, rates, concurrency lists, loopback hosts', () => {
    expect(parseDuration('10', '--duration')).toBe(10_000);
    expect(parseDuration('1.5s', '--duration')).toBe(1500);
    expect(parseDuration('250ms', '--duration')).toBe(250);
    expect(parseDuration('2m', '--duration')).toBe(120_000);
    expect(parseDuration('0', '--warmup', true)).toBe(0);
    expect(usageError(() => parseDuration('0', '--duration'))).toMatch(/more than zero/);
    expect(usageError(() => parseDuration('ten', '--duration'))).toMatch(/not a duration/);
    expect(parseRate('200/s')).toEqual({ from: 200, to: 200 });
    expect(parseRate('200')).toEqual({ from: 200, to: 200 });
    expect(parseRate('100:1000/s')).toEqual({ from: 100, to: 1000 });
    expect(parseRate('0:50/s')).toEqual({ from: 0, to: 50 });
    expect(usageError(() => parseRate('0/s'))).toMatch(/more than zero/);
    expect(usageError(() => parseRate('fast'))).toMatch(/not a rate/);
    expect(parseConcurrency('1,10, 50')).toEqual([1, 10, 50]);
    expect(usageError(() => parseConcurrency('10,10'))).toMatch(/repeats/);
    expect(usageError(() => parseConcurrency('1.5'))).toMatch(/positive whole number/);
    expect(['localhost', '127.0.0.1', '127.3.2.1', '::1', '[::1]', 'api.localhost'].every(isLoopbackHost)).toBe(true);
    expect(['example.com', '10.0.0.1', '0.0.0.0', '128.0.0.1', 'localhost.example.com'].some(isLoopbackHost)).toBe(false);
  });
});

/** An in-process fake target: answers after `latency()` ms (0: in a microtask). */
function fakeTarget(latency: (n: number) => number | 'never', inProcess = true): Target & { sent: number } {
  const t = {
    description: 'fake',
    inProcess,
    sent: 0,
    async prepare() {},
    send(done: Done) {
      const n = t.sent++;
      const ms = latency(n);
      if (ms === 'never') return;
      // Every tenth request fails, as an HTTP 500 would.
      const outcome = n % 10 === 9 ? { code: 'SYSTEM_ERROR', message: 'HTTP 500', httpStatus: 500 } : undefined;
      if (ms === 0) Promise.resolve().then(() => done(undefined));
      else setTimeout(() => done(outcome), ms);
    },
    details: () => ({}),
    async close() {},
  };
  return t;
}

describe('runner', () => {
  it('closed model with --requests makes exactly that many measured requests', async () => {
    const target = fakeTarget(() => 1, false);
    const o = await runLevel(target, { model: 'closed', key: 'c8', label: '8', concurrency: 8 }, { requests: 200, warmupMs: 0, drainMs: 1000 });
    const n = o.recorder.numbers();
    expect(n.requests).toBe(200);
    expect(target.sent).toBe(200);
    expect(n.errors).toBe(20);
    expect(o.recorder.errorsByCode.get('SYSTEM_ERROR')).toMatchObject({ count: 20, sample: 'HTTP 500', httpStatuses: { '500': 20 } });
    expect(n.errorRate).toBeCloseTo(0.1, 6);
  });

  it('an in-process target answering in microtasks does not starve the timers', async () => {
    const target = fakeTarget(() => 0);
    const started = performance.now();
    const o = await runLevel(target, { model: 'closed', key: 'c4', label: '4', concurrency: 4 }, { durationMs: 300, warmupMs: 100, drainMs: 1000 });
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(390);
    expect(took).toBeLessThan(2000);
    // Warm-up requests are not counted.
    expect(o.recorder.completed).toBeLessThan(target.sent);
    expect(o.recorder.completed).toBeGreaterThan(100);
  });

  it('open model: the cap holds requests back, late and not-started ones are counted', async () => {
    // A target that never answers: 5 requests get out, the rest wait for slots that never free.
    const target = fakeTarget(() => 'never', false);
    const o = await runLevel(target, { model: 'open', key: 'r100', label: '100/s', from: 100, to: 100, maxInFlight: 5 }, { durationMs: 500, warmupMs: 0, drainMs: 200 });
    const rec = o.recorder;
    expect(rec.scheduled).toBe(50);
    expect(rec.started).toBe(5);
    expect(rec.notStarted).toBeGreaterThanOrEqual(44);
    expect(rec.started + rec.notStarted).toBe(50);
    // The five in flight were abandoned at the end of the drain and count as timeouts.
    expect(o.unfinished).toBe(5);
    expect(rec.errorsByCode.get('TIMEOUT')?.count).toBe(5);
    expect(rec.numbers().errorRate).toBe(1);
  });

  it('open model: a slow target makes requests start late, and latency counts from the intended start', async () => {
    // The first 3 requests take 300 ms; with 3 slots, the next ones wait for them.
    const target = fakeTarget((n) => (n < 3 ? 300 : 1), false);
    const o = await runLevel(target, { model: 'open', key: 'r100', label: '100/s', from: 100, to: 100, maxInFlight: 3 }, { durationMs: 600, warmupMs: 0, drainMs: 1000 });
    const rec = o.recorder;
    expect(rec.started).toBe(60);
    expect(rec.notStarted).toBe(0);
    expect(rec.lateDueToCap).toBeGreaterThanOrEqual(20);
    expect(rec.startedLate).toBeGreaterThanOrEqual(rec.lateDueToCap);
    // Request 4 was due at 30 ms and could only start at ~300 ms: its latency is ~270 ms, not 1 ms.
    expect(rec.latency.percentileMs(90)).toBeGreaterThan(150);
    expect(rec.latency.maxMs()).toBeGreaterThanOrEqual(290);
  });

  it('a target that fails inside send() neither recurses nor loses requests', async () => {
    const failing: Target = {
      description: 'sync failure',
      inProcess: false,
      async prepare() {},
      send: (done) => done({ code: 'INVALID_REQUEST', message: 'refused before sending' }),
      details: () => ({}),
      async close() {},
    };
    const closed = await runLevel(failing, { model: 'closed', key: 'c10', label: '10', concurrency: 10 }, { requests: 20_000, warmupMs: 0, drainMs: 1000 });
    expect(closed.recorder.numbers()).toMatchObject({ requests: 20_000, errors: 20_000, errorRate: 1 });
    const open = await runLevel(failing, { model: 'open', key: 'r2000', label: '2000/s', from: 2000, to: 2000, maxInFlight: 1 }, { requests: 500, warmupMs: 0, drainMs: 1000 });
    // Every scheduled request is accounted for: started (and completed) or reported as not
    // started. On a loaded machine the last one may miss the end of the schedule; none is lost.
    expect(open.recorder.started + open.recorder.notStarted).toBe(500);
    expect(open.recorder.completed).toBe(open.recorder.started);
    expect(open.recorder.started).toBeGreaterThan(450);
  });

  it('an abort signal stops a level early', async () => {
    const target = fakeTarget(() => 2, false);
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 200);
    const o = await runLevel(target, { model: 'closed', key: 'c2', label: '2', concurrency: 2 }, { durationMs: 60_000, warmupMs: 0, drainMs: 1000 }, { signal: stop.signal });
    expect(o.stoppedBy).toBe('interrupted');
    expect(o.recorder.numbers().elapsedSec).toBeLessThan(2);
  });
});

describe('the loadtest command as a function', () => {
  it('shows live progress on a terminal only, and presents a table', async () => {
    const { PassThrough } = await import('node:stream');
    const { createContext } = await import('../../src/commands/context.js');
    const { loadtest, presentLoadtest } = await import('../../src/commands/loadtest.js');
    const { formatBlocks } = await import('../../src/output/render.js');
    const { mkdtempSync, rmSync, existsSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'pay-loadtest-unit-'));
    try {
      const run = async (tty: boolean) => {
        const stderr = Object.assign(new PassThrough(), { isTTY: tty });
        let text = '';
        stderr.on('data', (d) => (text += String(d)));
        const ctx = createContext({ stderr, stdout: new PassThrough(), env: { XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') }, cwd: dir, interactive: false });
        const summary = await loadtest({ channel: 'mock', concurrency: '2', duration: '1.2s', warmup: '0', threshold: ['errors<1%'] }, ctx);
        await ctx.close();
        return { summary, text };
      };
      const onTty = await run(true);
      expect(onTty.text).toMatch(/\r\x1b\[2K2 workers\s+1s\/1\.2s\s+[\d,]+ req\/s\s+p99 [\d.]+ ms\s+errors 0/);
      expect(onTty.text).toMatch(/2 workers: [\d,]+ req\/s, p50/);
      const offTty = await run(false);
      expect(offTty.text).toBe('');
      const p = presentLoadtest(offTty.summary, 'out.json');
      expect(p.exitCode).toBe(0);
      const human = formatBlocks(p.blocks, false);
      expect(human).toMatch(/^Load test: mock collect \(in-process\) \(closed model, 1\.2 s per level, warm-up 0 s\)/);
      expect(human).toMatch(/errors<1%\s+2 workers\s+0%\s+1%\s+pass/);
      expect(human).toMatch(/PASS: 1 threshold met\.\n\nSummary written to out\.json$/);
      // In-process, the target shares the generator's event loop: no 'the client is the limit' warning.
      expect(human).not.toMatch(/event loop was/);
      expect(existsSync(join(dir, 'data', 'pay'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
