import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { generateId, validateOrderNo } from '../../src/core/ids.js';
import { businessDayRange, isoUtc, parseDate, parseInstant, utcToWallTime, wallTimeToUtc, zoneOffsetMinutes } from '../../src/core/time.js';

describe('order numbers', () => {
  it('fit every channel: at most 32 of [A-Za-z0-9]', () => {
    for (const kind of ['payment', 'refund', 'payout'] as const) {
      const id = generateId(kind);
      expect(id).toMatch(/^[A-Za-z0-9]{6,32}$/);
      expect(id.length).toBe(30);
    }
    expect(generateId('payment')[0]).toBe('P');
    expect(generateId('refund')[0]).toBe('R');
    expect(generateId('payout')[0]).toBe('T');
  });

  it('sort by creation time and are strictly increasing within a process', () => {
    const ids = Array.from({ length: 5000 }, () => generateId('payment'));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    // An earlier clock still sorts after (monotonic), a later one sorts after too.
    const a = generateId('payment', Date.parse('2030-01-01T00:00:00Z'));
    const b = generateId('payment', Date.parse('2029-01-01T00:00:00Z'));
    expect(b > a).toBe(true);
    expect(a.slice(1, 18)).toBe('20300101000000000');
  });

  it('do not collide across processes generating in the same milliseconds', () => {
    // Four processes (the built module), 2,000 numbers each, as fast as they can: same ms ranges.
    const out: string[] = [];
    const runs = Array.from({ length: 4 }, () =>
      spawnSync(process.execPath, ['--input-type=module', '-e', `import { generateId } from ${JSON.stringify(new URL('../../dist/src/core/ids.js', import.meta.url).href)}; const a=[]; for (let i=0;i<2000;i++) a.push(generateId('payment')); console.log(a.join('\\n'));`], { encoding: 'utf8' }),
    );
    for (const r of runs) {
      expect(r.status, r.stderr).toBe(0);
      out.push(...r.stdout.trim().split('\n'));
    }
    expect(out.length).toBe(8000);
    expect(new Set(out).size).toBe(8000);
  });

  it('validates user-supplied numbers', () => {
    expect(validateOrderNo('SHOP20261123001')).toBe('SHOP20261123001');
    expect(() => validateOrderNo('abc')).toThrow(/not valid/);
    expect(() => validateOrderNo('has-dash-123')).toThrow(/not valid/);
    expect(() => validateOrderNo('x'.repeat(33))).toThrow(/not valid/);
  });
});

describe('time', () => {
  it('parses ISO and unix instants', () => {
    expect(parseInstant('2026-11-23T08:00:00+08:00')).toBe(Date.parse('2026-11-23T00:00:00Z'));
    expect(parseInstant('2026-11-23T00:00:00Z')).toBe(Date.parse('2026-11-23T00:00:00Z'));
    expect(parseInstant('2026-11-23 00:00:00')).toBe(Date.parse('2026-11-23T00:00:00Z'));
    expect(parseInstant('2026-11-23')).toBe(Date.parse('2026-11-23T00:00:00Z'));
    expect(parseInstant('1763884800')).toBe(1763884800000);
    expect(parseInstant('1763884800123')).toBe(1763884800123);
    expect(() => parseInstant('yesterday')).toThrow(/not a time/);
  });

  it('validates dates', () => {
    expect(parseDate('2026-02-28')).toBe('2026-02-28');
    expect(() => parseDate('2026-02-30')).toThrow(/not a date/);
    expect(() => parseDate('20260228')).toThrow(/not a date/);
  });

  it('knows Shanghai is UTC+8 and business days follow the zone', () => {
    expect(zoneOffsetMinutes('Asia/Shanghai', Date.now())).toBe(480);
    expect(wallTimeToUtc('2019-09-16 10:15:01', 'Asia/Shanghai')).toBe(Date.parse('2019-09-16T02:15:01Z'));
    expect(utcToWallTime(Date.parse('2019-09-16T02:15:01Z'), 'Asia/Shanghai')).toBe('2019-09-16 10:15:01');
    const day = businessDayRange('2026-11-22', 'Asia/Shanghai');
    expect(isoUtc(day.start)).toBe('2026-11-21T16:00:00.000Z');
    expect(isoUtc(day.end)).toBe('2026-11-22T16:00:00.000Z');
    // A DST day in New York is 23 hours long.
    const dst = businessDayRange('2026-03-08', 'America/New_York');
    expect(dst.end - dst.start).toBe(23 * 3600_000);
    expect(() => zoneOffsetMinutes('Mars/Olympus', 0)).toThrow(/unknown time zone/);
  });
});
