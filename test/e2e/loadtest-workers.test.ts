/**
 * `pay loadtest --url ... --workers N` end to end: the built binary with worker threads against a
 * local HTTP server. The summary has the shape of a one-thread run, the counts add up across
 * threads and with what the server saw, thresholds decide the exit status as before, and a bad
 * --workers is a usage error. No timing is asserted.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSummary } from '../../src/loadtest/histogram.js';
import type { LoadtestSummary } from '../../src/loadtest/summary.js';
import { runPay, runPayJson, tempDir } from '../helpers/cli.js';
import { startLatencyServer, type LatencyServer } from '../helpers/latency-server.js';

const tmp = tempDir('pay-loadtest-workers-');
const env = { XDG_DATA_HOME: join(tmp.dir, 'data'), XDG_CONFIG_HOME: join(tmp.dir, 'config'), HOME: tmp.dir };

/** Every key path of a JSON value, arrays reduced to their first element. */
function shape(v: unknown, path = ''): string[] {
  if (Array.isArray(v)) return v.length ? shape(v[0], `${path}[]`) : [`${path}[]`];
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => [`${path}.${k}`, ...shape(x, `${path}.${k}`)]);
  return [];
}

describe('pay loadtest --workers', () => {
  let server: LatencyServer;
  beforeAll(async () => {
    server = await startLatencyServer({ latencyMs: 2 });
  });
  afterAll(async () => {
    await server.close();
    tmp.cleanup();
  });

  it('two threads: the summary of one thread, counts adding up across threads and with the server', async () => {
    const args = ['loadtest', '--url', server.url, '--concurrency', '9', '--requests', '600', '--warmup', '0'];
    const before = server.requests;
    const r = await runPayJson<LoadtestSummary>([...args, '--workers', '2'], { env });
    expect(r.code, r.stderr).toBe(0);
    // The probe before the clock, then exactly the requests asked for.
    expect(server.requests - before).toBe(601);
    const [level] = r.json.levels;
    expect(level.requests).toBe(600);
    expect(level.ok).toBe(600);
    expect(decodeSummary(level.hdr).count).toBe(600);
    expect(level.latencyMs.count).toBe(600);
    expect(level.series.reduce((a, p) => a + p.requests, 0)).toBe(600);
    const perWorker = r.json.target.workers as { connections: number; answers: number }[];
    expect(perWorker.map((w) => w.connections)).toEqual([5, 4]);
    expect(perWorker.reduce((a, w) => a + w.answers, 0)).toBe(600);
    expect(perWorker.every((w) => w.answers > 0)).toBe(true);
    expect(r.json.target).toMatchObject({ httpStatuses: { '200': 600 }, connections: 9 });
    expect(r.json.config.workers).toBe(2);
    expect(level.latencyMs.p50).toBeGreaterThanOrEqual(2);

    const single = await runPayJson<LoadtestSummary>(args, { env });
    expect(single.code, single.stderr).toBe(0);
    const extra = new Set(['.config.workers', '.target.workers', '.target.workers[]', '.target.workers[].connections', '.target.workers[].connects', '.target.workers[].answers']);
    expect(shape(r.json).filter((k) => !extra.has(k))).toEqual(shape(single.json));
  });

  it('the open model splits the rate and the schedule adds up', async () => {
    const r = await runPayJson<LoadtestSummary>(['loadtest', '--url', server.url, '--rate', '200/s', '--requests', '150', '--warmup', '0', '--workers', '2'], { env });
    expect(r.code, r.stderr).toBe(0);
    const [level] = r.json.levels;
    expect(level.open!.scheduled).toBe(150);
    expect(level.open!.started + level.open!.notStarted).toBe(150);
    expect(level.requests).toBe(level.open!.started);
  });

  it('thresholds decide the exit status as on one thread', async () => {
    const base = ['loadtest', '--url', server.url, '--concurrency', '4', '--requests', '200', '--warmup', '0', '--workers', '2'];
    const pass = await runPay([...base, '--threshold', 'p99<30s', '--threshold', 'errors<1%'], { env });
    expect(pass.code, pass.stderr).toBe(0);
    expect(pass.stdout).toMatch(/PASS: 2 thresholds met/);
    const fail = await runPayJson<LoadtestSummary>([...base, '--threshold', 'p50<1us'], { env });
    expect(fail.code).toBe(1);
    expect(fail.json.passed).toBe(false);
    expect(fail.json.thresholds[0]).toMatchObject({ expr: 'p50<1us', pass: false });
    expect(fail.json.thresholds[0].actual).toBe(fail.json.levels[0].latencyMs.p50);
  });

  it('--abort-on-fail stops every thread at the first breach', async () => {
    const r = await runPayJson<LoadtestSummary>(['loadtest', '--url', server.url, '--concurrency', '4', '--duration', '30s', '--warmup', '0', '--workers', '2', '--threshold', 'p50<1us', '--abort-on-fail'], { env });
    expect(r.code).toBe(1);
    expect(r.json.aborted?.reason).toMatch(/threshold p50<1us breached/);
    expect(r.json.levels[0].stoppedBy).toMatch(/threshold p50<1us breached/);
    expect(r.json.levels[0].elapsedSec).toBeLessThan(30);
  });

  it('a bad --workers is a usage error (exit 2)', async () => {
    for (const bad of ['0', 'two', '100000']) {
      const r = await runPayJson(['loadtest', '--url', server.url, '--concurrency', '4', '--requests', '10', '--workers', bad], { env });
      expect(r.code, bad).toBe(2);
      expect(r.json.error.message).toMatch(/--workers .* is not a whole number from 1 to \d+ \(4 per core/);
    }
    const channel = await runPayJson(['loadtest', '--channel', 'mock', '--concurrency', '4', '--requests', '10', '--workers', '2'], { env });
    expect(channel.code).toBe(2);
    expect(channel.json.error.message).toMatch(/--workers applies to --url/);
  });
});
