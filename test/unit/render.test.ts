import { describe, expect, it } from 'vitest';
import { displayWidth, formatBlocks, type Block } from '../../src/output/render.js';

const ESC = String.fromCharCode(27);
const strip = (s: string) => s.replace(new RegExp(`${ESC}\\[[0-9;]*m`, 'g'), '');

describe('tables (cli-table3)', () => {
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

  it('keeps long tables aligned across the slices it draws', () => {
    const rows = Array.from({ length: 260 }, (_, i) => ({ n: String(i), s: i === 255 ? '很长的中文商品名称' : 'x' }));
    const text = formatBlocks([{ kind: 'table', columns: [{ key: 'n', header: 'n', align: 'right' }, { key: 's', header: 's' }], rows }], false);
    const lines = text.split('\n');
    expect(lines).toHaveLength(261);
    expect(lines[0]).toBe('  n  s');
    expect(lines[1]).toBe('  0  x');
    expect(lines[256]).toBe('255  很长的中文商品名称');
    expect(lines[260]).toBe('259  x');
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
