import { describe, expect, it } from 'vitest';
import { PayError } from '../../src/core/errors.js';
import { addMinor, convertMinor, currencyExponent, formatAmount, isKnownCurrency, moneyJson, normalizeCurrency, parseAmount, plainMinor } from '../../src/core/money.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof PayError ? `${err.code}:${err.exitCode}` : `other:${(err as Error).message}`;
  }
  return undefined;
}

describe('currency exponents (ICU data)', () => {
  it.each([
    ['JPY', 0],
    ['KRW', 0],
    ['CNY', 2],
    ['USD', 2],
    ['EUR', 2],
    ['KWD', 3],
    ['BHD', 3],
    ['JOD', 3],
    ['OMR', 3],
  ])('%s has %i decimals', (c, exp) => {
    expect(currencyExponent(c)).toBe(exp);
  });

  it('takes channel overrides over ICU', () => {
    expect(currencyExponent('HUF', { HUF: 2 })).toBe(2);
    expect(currencyExponent('TWD', { TWD: 0 })).toBe(0);
  });

  it('knows ISO codes and rejects made-up ones', () => {
    expect(isKnownCurrency('CNY')).toBe(true);
    expect(isKnownCurrency('JPX')).toBe(false);
    expect(normalizeCurrency(' usd ')).toBe('USD');
    expect(code(() => normalizeCurrency('JPX'))).toBe('INVALID_REQUEST:2');
    expect(code(() => normalizeCurrency('RMB'))).toBe('INVALID_REQUEST:2');
    expect(code(() => normalizeCurrency('US'))).toBe('INVALID_REQUEST:2');
    expect(code(() => normalizeCurrency(''))).toBe('INVALID_REQUEST:2');
  });
});

describe('parseAmount', () => {
  it.each([
    ['12.34', 'CNY', 1234],
    ['12.3', 'CNY', 1230],
    ['12', 'CNY', 1200],
    ['0.01', 'CNY', 1],
    ['1500', 'JPY', 1500],
    ['1.234', 'KWD', 1234],
    ['0.001', 'BHD', 1],
    ['007.50', 'USD', 750],
    ['  9.99 ', 'USD', 999],
    ['90071992547409.91', 'USD', 9007199254740991],
  ])('%s %s -> %i', (text, cur, minor) => {
    expect(parseAmount(text, cur)).toBe(minor);
  });

  it('is exact where floats are not', () => {
    // 0.1 + 0.2 !== 0.3 in floats; in minor units the sum is exact.
    expect(addMinor(parseAmount('0.1', 'USD'), parseAmount('0.2', 'USD'))).toBe(parseAmount('0.3', 'USD'));
    expect(parseAmount('1.15', 'USD')).toBe(115); // 1.15 * 100 = 114.99999999999999 in floats
    expect(parseAmount('4.35', 'USD')).toBe(435); // 4.35 * 100 = 434.99999999999994
    expect(parseAmount('0.29', 'CNY')).toBe(29);
  });

  it.each([
    ['1.234', 'CNY', 'decimal place'],
    ['1.5', 'JPY', 'decimal place'],
    ['1.2345', 'KWD', 'decimal place'],
    ['-1', 'CNY', 'negative'],
    ['abc', 'CNY', 'not a decimal'],
    ['1e3', 'CNY', 'not a decimal'],
    ['1,000.00', 'CNY', 'not a decimal'],
    ['.5', 'CNY', 'not a decimal'],
    ['1.', 'CNY', 'not a decimal'],
    ['+1', 'CNY', 'not a decimal'],
    ['0x10', 'CNY', 'not a decimal'],
    ['Infinity', 'CNY', 'not a decimal'],
    ['NaN', 'CNY', 'not a decimal'],
    ['1 000', 'CNY', 'not a decimal'],
    ['', 'CNY', 'empty'],
    ['0', 'CNY', 'greater than zero'],
    ['0.00', 'CNY', 'greater than zero'],
    ['90071992547409.92', 'USD', 'too large'],
    ['99999999999999999999', 'JPY', 'too large'],
    ['12.34', 'JPX', 'unknown currency'],
  ])('rejects %s %s (%s) with INVALID_REQUEST, exit 2', (text, cur, words) => {
    let err: unknown;
    try {
      parseAmount(text, cur);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PayError);
    expect((err as PayError).code).toBe('INVALID_REQUEST');
    expect((err as PayError).exitCode).toBe(2);
    expect((err as PayError).message).toContain(words);
  });

  it('gives advice for common mistakes', () => {
    const hint = (t: string) => {
      try {
        parseAmount(t, 'CNY');
      } catch (e) {
        return (e as PayError).hint ?? '';
      }
      return '';
    };
    expect(hint('1e3')).toMatch(/Exponent/);
    expect(hint('1,000.00')).toMatch(/Thousands/);
    expect(hint('.5')).toMatch(/0\.5/);
  });

  it('accepts zero, negatives and surplus zeros only when asked', () => {
    expect(parseAmount('0', 'CNY', { allowZero: true })).toBe(0);
    expect(parseAmount('-2.50', 'CNY', { allowNegative: true })).toBe(-250);
    expect(parseAmount('100.00', 'JPY', { allowTrailingZeros: true })).toBe(100);
    expect(code(() => parseAmount('100.50', 'JPY', { allowTrailingZeros: true }))).toBe('INVALID_REQUEST:2');
  });
});

describe('plainMinor (the bill readers\' fast path)', () => {
  it('plainMinor converts the usual bill amount shape only (anything else is NaN, for parseAmount to explain)', () => {
    expect(plainMinor('12.34', 2)).toBe(1234);
    expect(plainMinor('-0.66', 2)).toBe(-66);
    expect(plainMinor('12.340', 3)).toBe(12_340);
    expect(plainMinor('1500', 0)).toBe(1500);
    expect(plainMinor('9999999999999.99', 2)).toBe(999_999_999_999_999);
    expect(Object.is(plainMinor('-0.00', 2), -0)).toBe(true);
    // Every plain value reads as parseAmount reads it.
    for (const text of ['0.01', '-12.34', '100.00', '007.50']) expect(plainMinor(text, 2)).toBe(parseAmount(text, 'CNY', { allowNegative: true, allowZero: true }));
    for (const [text, exp] of [['12.3', 2], ['12.345', 2], ['1,000.00', 2], ['1e3', 0], ['+1.00', 2], ['.50', 2], ['-.50', 2], ['-', 0], ['', 2], ['1 .00', 2], ['99999999999999.99', 2], ['9999999999999999', 0], ['12,34', 2], ['1500.00', 0]] as const) {
      expect(plainMinor(text, exp), text).toBeNaN();
    }
  });
});

describe('formatAmount and conversions', () => {
  it.each([
    [1234, 'CNY', '12.34'],
    [5, 'CNY', '0.05'],
    [0, 'CNY', '0.00'],
    [-250, 'CNY', '-2.50'],
    [1500, 'JPY', '1500'],
    [1234, 'KWD', '1.234'],
    [1, 'BHD', '0.001'],
    [9007199254740991, 'USD', '90071992547409.91'],
  ])('%i %s -> %s', (minor, cur, text) => {
    expect(formatAmount(minor, cur)).toBe(text);
    expect(parseAmount(text.replace('-', ''), cur, { allowZero: true })).toBe(Math.abs(minor));
  });

  it('refuses non-integers as money', () => {
    expect(code(() => formatAmount(1.5, 'CNY'))).toBe('INVALID_REQUEST:2');
  });

  it('converts between exponents exactly or refuses', () => {
    expect(convertMinor(1500, 0, 2)).toBe(150000);
    expect(convertMinor(150000, 2, 0)).toBe(1500);
    expect(code(() => convertMinor(150050, 2, 0))).toBe('INVALID_REQUEST:2');
  });

  it('json view carries decimal and minor units', () => {
    expect(moneyJson(1234, 'CNY')).toEqual({ amount: '12.34', amountMinor: 1234, currency: 'CNY' });
  });
});
