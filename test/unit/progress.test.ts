import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress, createStatusLine } from '../../src/output/progress.js';

function sink(tty: boolean) {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d) => (text += d));
  Object.assign(stream, { isTTY: tty });
  return { stream, text: () => text };
}

describe('progress line', () => {
  it('draws a bar with bytes, rows and rate on a terminal, after a delay, and clears it', () => {
    const s = sink(true);
    let now = 0;
    const p = createProgress({ stderr: s.stream, json: false, quiet: false }, 'reading bill.csv', { totalBytes: 4 * 1048576, now: () => now });
    p.bytes(1048576); // too early: nothing yet
    p.rows(50_000);
    expect(s.text()).toBe('');
    now = 1000;
    p.bytes(2 * 1048576);
    expect(s.text()).toContain('reading bill.csv [############------------]  50% 2.0 MB/4.0 MB 50,000 rows (50,000/s)');
    now = 1050;
    p.rows(60_000); // within the redraw interval
    expect(s.text()).not.toContain('60,000');
    p.phase('matching');
    expect(s.text()).toContain('matching');
    p.done();
    expect(s.text().endsWith('\r\x1b[2K')).toBe(true);
  });

  it('draws nothing off a terminal, with --json or with -q (bar and status line)', () => {
    for (const [tty, json, quiet] of [
      [false, false, false],
      [true, true, false],
      [true, false, true],
    ]) {
      const s = sink(tty);
      let now = 0;
      const p = createProgress({ stderr: s.stream, json, quiet }, 'reading', { now: () => now });
      now = 10_000;
      p.rows(1);
      p.phase('matching');
      p.done();
      const line = createStatusLine({ stderr: s.stream, json, quiet });
      line.update('x');
      line.line('y');
      line.clear();
      expect(s.text()).toBe('');
    }
  });

  it('keeps one status line: rewrites it, prints lines above it, clears it once (loadtest)', () => {
    const s = sink(true);
    const line = createStatusLine({ stderr: s.stream, json: false, quiet: false });
    line.update('2 workers 1s');
    line.update('2 workers 2s');
    line.line('2 workers: 100 req/s');
    line.clear();
    expect(s.text()).toBe('\r\x1b[2K2 workers 1s\r\x1b[2K2 workers 2s\r\x1b[2K2 workers: 100 req/s\n');
    line.update('4 workers 1s');
    line.clear();
    line.clear();
    expect(s.text().endsWith('\r\x1b[2K4 workers 1s\r\x1b[2K')).toBe(true);
  });
});
