/**
 * src/core/field-names.ts: the sorted order and the repeat check of form field names, remembered
 * for the last list. A remembered answer must never outlive its list: every list below follows
 * one of the same length that differs in one name, or in order only.
 */
import { describe, expect, it } from 'vitest';
import { codeUnitOrder, firstRepeat, sortedOrder, type NamesMemo } from '../../src/core/field-names.js';
import { rng } from '../helpers/rng.js';

const sortedBy = (memo: NamesMemo, names: string[]) => sortedOrder(memo, names).map((i) => names[i]);

describe('sortedOrder', () => {
  it('sorts by code unit, and answers a new list anew after a remembered one', () => {
    const memo: NamesMemo = {};
    expect(sortedBy(memo, ['b', 'a', 'c'])).toEqual(['a', 'b', 'c']);
    expect(sortedBy(memo, ['b', 'a', 'c'])).toEqual(['a', 'b', 'c']);
    // Same length, one name different; then the same names in another order.
    expect(sortedBy(memo, ['b', 'a', 'B'])).toEqual(['B', 'a', 'b']);
    expect(sortedBy(memo, ['a', 'B', 'b'])).toEqual(['B', 'a', 'b']);
    expect(sortedOrder(memo, ['a', 'B', 'b'])).toEqual([1, 0, 2]);
    expect(sortedBy(memo, [])).toEqual([]);
  });

  it('is stable: a repeated name keeps the order it came in', () => {
    const memo: NamesMemo = {};
    expect(sortedOrder(memo, ['k', 'a', 'k', 'b'])).toEqual([1, 3, 0, 2]);
  });

  it('agrees with a plain sort over many random lists, with and without a hit', () => {
    const random = rng(7);
    const next = () => Math.floor(random() * 0x1_0000_0000);
    const memo: NamesMemo = {};
    const alphabet = ['a', 'b', 'B', '_', '1', 'aa', 'ab', 'sign', 'sign_type'];
    let previous: string[] = [];
    for (let n = 0; n < 500; n++) {
      // Half the time the previous list again (a hit), else a fresh one of the same length.
      const names = n % 2 === 1 ? [...previous] : previous.length && n % 4 === 0 ? previous.map(() => alphabet[next() % alphabet.length]) : Array.from({ length: next() % 8 }, () => alphabet[next() % alphabet.length]);
      const want = names.map((name, i) => ({ name, i })).sort((x, y) => codeUnitOrder(x.name, y.name) || x.i - y.i).map((x) => x.i);
      expect(sortedOrder(memo, names)).toEqual(want);
      previous = names;
    }
  });
});

describe('firstRepeat', () => {
  it('finds the first name that comes again, after a remembered distinct list of the same length', () => {
    const memo: NamesMemo = {};
    expect(firstRepeat(memo, ['a', 'b', 'c'])).toBeUndefined();
    expect(firstRepeat(memo, ['a', 'b', 'c'])).toBeUndefined();
    expect(firstRepeat(memo, ['a', 'b', 'a'])).toBe('a');
    expect(firstRepeat(memo, ['a', 'b', 'a'])).toBe('a');
    expect(firstRepeat(memo, ['x', 'y', 'y', 'x'])).toBe('y');
    expect(firstRepeat(memo, [])).toBeUndefined();
  });

  it('shares a memo with sortedOrder without mixing their answers', () => {
    const memo: NamesMemo = {};
    expect(sortedBy(memo, ['b', 'a'])).toEqual(['a', 'b']);
    expect(firstRepeat(memo, ['b', 'a'])).toBeUndefined();
    expect(firstRepeat(memo, ['b', 'b'])).toBe('b');
    expect(sortedBy(memo, ['b', 'b'])).toEqual(['b', 'b']);
    expect(sortedBy(memo, ['b', 'a'])).toEqual(['a', 'b']);
  });
});
