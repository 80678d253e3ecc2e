/**
 * The byte-level detector helpers answer exactly what the string tests they replaced answered:
 * checked on hand-picked edge cases and on many random bodies against the original regexes.
 */
import { describe, expect, it } from 'vitest';
import { rng } from '../helpers/rng.js';
import { hasAscii, hasFormField, skipLatin1Space } from '../../src/channel/detect.js';

// Pieces that make near misses likely: field names, separators, prefixes of names, high bytes.
const PIECES = ['sign', 'sign=', '&sign=', 'signature=', 'sign_type=', '&', '=', 'a', 'x=1', '%26sign=', 'app_id=', '&app_id', ' ', '\t', '\n', '\u00a0', '{', '"sign"', '_response"', '中'];

function randomBody(next: () => number): Buffer {
  const parts: Buffer[] = [];
  const n = Math.floor(next() * 8);
  for (let i = 0; i < n; i++) {
    const r = next();
    if (r < 0.8) parts.push(Buffer.from(PIECES[Math.floor(next() * PIECES.length)], r < 0.4 ? 'utf8' : 'latin1'));
    else parts.push(Buffer.from([Math.floor(next() * 256)]));
  }
  return Buffer.concat(parts);
}

describe('hasFormField', () => {
  it('finds a field at the start or after an ampersand only', () => {
    expect(hasFormField(Buffer.from('sign=abc&x=1'), 'sign')).toBe(true);
    expect(hasFormField(Buffer.from('x=1&sign=abc'), 'sign')).toBe(true);
    expect(hasFormField(Buffer.from('x=1&sign='), 'sign')).toBe(true);
    expect(hasFormField(Buffer.from('x=1&sign_type=RSA2'), 'sign')).toBe(false);
    expect(hasFormField(Buffer.from('x=1&presign=1'), 'sign')).toBe(false);
    // A first, false occurrence must not hide a true one further on.
    expect(hasFormField(Buffer.from('presign=1&sign=2'), 'sign')).toBe(true);
    expect(hasFormField(Buffer.from('x=sign=1'), 'sign')).toBe(false);
    expect(hasFormField(Buffer.alloc(0), 'sign')).toBe(false);
  });

  it('agrees with /(^|&)name=/ on the Latin-1 text of random bodies', () => {
    const next = rng(20260101);
    for (let i = 0; i < 5000; i++) {
      const body = randomBody(next);
      const text = body.toString('latin1');
      for (const name of ['sign', 'app_id', 'signature']) {
        expect(hasFormField(body, name), JSON.stringify(text)).toBe(new RegExp(`(^|&)${name}=`).test(text));
      }
    }
  });
});

describe('hasAscii', () => {
  it('agrees with a search of the decoded text, in Latin-1 and in UTF-8', () => {
    const next = rng(7);
    for (let i = 0; i < 5000; i++) {
      const body = randomBody(next);
      for (const needle of ['"sign"', '_response"', '&sign=']) {
        expect(hasAscii(body, needle)).toBe(body.toString('latin1').includes(needle));
        expect(hasAscii(body, needle)).toBe(body.toString('utf8').includes(needle));
      }
    }
  });
});

describe('skipLatin1Space', () => {
  it('stops where String.prototype.trimStart would', () => {
    const next = rng(99);
    for (let i = 0; i < 5000; i++) {
      const body = randomBody(next);
      const text = body.toString('latin1');
      expect(skipLatin1Space(body), JSON.stringify(text)).toBe(text.length - text.trimStart().length);
    }
    // Every Latin-1 character, one at a time.
    for (let b = 0; b < 256; b++) {
      const text = String.fromCharCode(b);
      expect(skipLatin1Space(Buffer.from([b]))).toBe(text.trimStart() === '' ? 1 : 0);
    }
  });
});
