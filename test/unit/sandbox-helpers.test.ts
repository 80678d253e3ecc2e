/** The pieces the sandbox simulators share (src/sandbox/helpers.ts). */
import { describe, expect, it } from 'vitest';
import { feeInBasisPoints, htmlPage, randomDigits } from '../../src/sandbox/helpers.js';

describe('sandbox helpers', () => {
  it('draws decimal digits of the length asked, leading zeros included', () => {
    for (const n of [1, 6, 9, 10, 21, 36]) expect(randomDigits(n)).toMatch(new RegExp(`^\\d{${n}}$`));
    const many = Array.from({ length: 200 }, () => randomDigits(12));
    expect(new Set(many).size).toBe(200);
    // Every digit turns up in first place over many draws (no bias against leading zeros).
    expect(new Set(Array.from({ length: 500 }, () => randomDigits(3)[0])).size).toBe(10);
  });

  it('computes fees in basis points on integer minor units, rounding half up', () => {
    expect(feeInBasisPoints(10_000, 60)).toBe(60);
    expect(feeInBasisPoints(1234, 60)).toBe(7); // 7.404
    expect(feeInBasisPoints(125, 40)).toBe(1); // 0.5 rounds up
    expect(feeInBasisPoints(124, 40)).toBe(0); // 0.496
    expect(feeInBasisPoints(0, 60)).toBe(0);
    // Here amount * bps passes 2^53: float arithmetic would say ...088; the exact fee is ...087.
    expect(feeInBasisPoints(9_007_199_255_013, 9_999)).toBe(9_006_298_535_087);
  });

  it('renders an escaped HTML page', () => {
    const page = htmlPage('支付宝 <sandbox>', 'a & "b"');
    expect(page.status).toBe(200);
    expect(page.headers?.['content-type']).toBe('text/html;charset=utf-8');
    expect(page.body).toContain('<title>支付宝 &lt;sandbox&gt;</title>');
    expect(page.body).toContain('<p>a &amp; &quot;b&quot;</p>');
  });
});
