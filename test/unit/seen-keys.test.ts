/**
 * The filter of keys a stage has taken: never a miss (a repeat is always flagged), false alarms
 * only as often as its size allows.
 */
import { describe, expect, it } from 'vitest';
import { SeenKeys } from '../../src/store/seen-keys.js';

describe('SeenKeys', () => {
  it('flags every key it has taken before, and no key the first time in a roomy filter', () => {
    const seen = new SeenKeys(1 << 20);
    const keys = Array.from({ length: 5000 }, (_, i) => `P|B${String(i).padStart(12, '0')}`);
    const first = keys.filter((k) => seen.add(k));
    expect(first).toEqual([]);
    expect(keys.every((k) => seen.add(k))).toBe(true);
  });

  it('raises false alarms when small, but still never misses a repeat', () => {
    const seen = new SeenKeys(1 << 10);
    const keys = Array.from({ length: 2000 }, (_, i) => `R|${i}`);
    const alarms = keys.filter((k) => seen.add(k)).length;
    expect(alarms).toBeGreaterThan(0);
    expect(alarms).toBeLessThan(keys.length);
    expect(keys.every((k) => seen.add(k))).toBe(true);
  });

  it('forgets everything on clear', () => {
    const seen = new SeenKeys(1 << 12);
    seen.add('P|1');
    seen.clear();
    expect(seen.add('P|1')).toBe(false);
  });

  it('refuses a size that is not a power of two', () => {
    expect(() => new SeenKeys(1000)).toThrow(/power of two/);
  });
});
