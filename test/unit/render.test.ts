import { describe, expect, it } from 'vitest';
import { displayWidth, formatBlocks, type Block } from '../../src/output/render.js';

const ESC = String.fromCharCode(27);
const strip = (s: string) => s.replace(new RegExp(`${ESC}\\[[0-9;]*m`, 'g'), '');

describe('tables (the hand renderer)', () => {
  const block: Block = {
    kind: 'table',
    title: 'Orders',
    columns: [
      { key: 'no', header: 'order no' },
      { key: 'subject', header: 'subject' },
      { key: 'amount', header: 'amount', align: 'right' },
      { key: 'status', header: 'status' },
    ],
    rows: [
      { no: 'P1', subject: '咖啡 coffee', amount: '12.00 CNY', status: { text: 'succeeded', tone: 'ok' } },
      { no: 'P22', subject: 'tea', amount: '1.00 CNY', status: { text: 'failed', tone: 'error' } },
    ],
  };

  it('aligns columns two spaces apart, counting CJK characters as two columns, without trailing blanks', () => {
    expect(formatBlocks([block], false)).toBe(
      [
        'Orders',
        'order no  subject         amount  status',
        'P1        咖啡 coffee  12.00 CNY  succeeded',
        'P22       tea           1.00 CNY  failed',
      ].join('\n'),
    );
  });

  it('colours cells without disturbing alignment', () => {
    const coloured = formatBlocks([block], true);
    expect(coloured).toContain(`${ESC}[32msucceeded${ESC}[39m`);
    expect(coloured).toContain(`${ESC}[1morder no${ESC}[22m`);
    expect(strip(coloured)).toBe(formatBlocks([block], false));
  });

  it('keeps long tables aligned to their widest cell', () => {
    const rows = Array.from({ length: 260 }, (_, i) => ({ n: String(i), s: i === 255 ? '很长的中文商品名称' : 'x' }));
    const text = formatBlocks([{ kind: 'table', columns: [{ key: 'n', header: 'n', align: 'right' }, { key: 's', header: 's' }], rows }], false);
    const lines = text.split('\n');
    expect(lines).toHaveLength(261);
    expect(lines[0]).toBe('  n  s');
    expect(lines[1]).toBe('  0  x');
    expect(lines[256]).toBe('255  很长的中文商品名称');
    expect(lines[260]).toBe('259  x');
  });

  it('measures what a terminal draws: emoji and joined emoji two columns, combining marks and joiners none, full-width forms two', () => {
    expect(displayWidth('👩‍💻')).toBe(2);
    expect(displayWidth('👍🏽')).toBe(2);
    expect(displayWidth('☕')).toBe(2);
    expect(displayWidth('cafe\u0301')).toBe(4);
    expect(displayWidth('a\u200bb')).toBe(2);
    expect(displayWidth('１２３ＡＢＣ')).toBe(12);
    expect(displayWidth('ｶﾀｶﾅ')).toBe(4);
    expect(displayWidth('한국어')).toBe(6);
  });

  it('never truncates a cell and starts the next column at the same display column on every line (emoji, joiners, combining marks, wide forms)', () => {
    const texts = ['👩‍💻 dev', 'cafe\u0301', '１２３ＡＢＣ', '☕ 咖啡'];
    const rows = texts.map((t, i) => ({ t, n: String(i) }));
    const lines = formatBlocks([{ kind: 'table', columns: [{ key: 't', header: 't' }, { key: 'n', header: 'n' }], rows }], false).split('\n');
    // Widths as drawn: 6, 4, 12 and 7 columns, so the second column starts at column 14 everywhere.
    expect(lines).toEqual([`t${' '.repeat(13)}n`, `👩‍💻 dev${' '.repeat(8)}0`, `cafe\u0301${' '.repeat(10)}1`, '１２３ＡＢＣ  2', `☕ 咖啡${' '.repeat(7)}3`]);
    texts.forEach((t, i) => expect(lines[i + 1].startsWith(t)).toBe(true));
  });

  it('draws a table of 300,000 rows (widths found without spreading every cell into Math.max)', () => {
    const rows = Array.from({ length: 300_000 }, (_, i) => ({ n: String(i) }));
    const lines = formatBlocks([{ kind: 'table', columns: [{ key: 'n', header: 'n', align: 'right' }], rows }], false).split('\n');
    expect(lines).toHaveLength(300_001);
    expect(lines[0]).toBe('     n');
    expect(lines[300_000]).toBe('299999');
  });

  it('lays out a cell of several lines under its column', () => {
    const text = formatBlocks([{ kind: 'table', columns: [{ key: 'a', header: 'a' }, { key: 'b', header: 'b' }], rows: [{ a: 'one\n三', b: 'x' }, { a: 'four', b: 'y' }] }], false);
    expect(text).toBe(['a     b', 'one   x', '三', 'four  y'].join('\n'));
    const right = formatBlocks([{ kind: 'table', columns: [{ key: 'a', header: 'a' }, { key: 'b', header: 'amount', align: 'right' }, { key: 'c', header: 'c' }], rows: [{ a: 'x', b: '1.00\n12.00', c: 'y' }] }], false);
    expect(right).toBe(['a  amount  c', 'x    1.00  y', '    12.00'].join('\n'));
  });

  it('says so when a table is empty', () => {
    expect(formatBlocks([{ kind: 'table', title: 'Refunds', columns: [{ key: 'a', header: 'a' }], rows: [], empty: '(no refunds)' }], false)).toBe('Refunds\n(no refunds)');
  });

  it('pads field labels by display width', () => {
    expect(displayWidth('金额')).toBe(4);
    expect(displayWidth(`${ESC}[32mok${ESC}[39m`)).toBe(2);
    expect(formatBlocks([{ kind: 'fields', fields: [['金额', '1.00 CNY'], ['order no', 'P1'], ['skipped', undefined]] }], false)).toBe('金额      1.00 CNY\norder no  P1');
  });
});
