// The report building blocks: escaping, the page shell's CSP, tables and SVG charts.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { barChart, lineChart, niceTicks, timeTicks } from '../../src/report/chart.js';
import { esc, groupDigits, html } from '../../src/report/html.js';
import { renderPage, section } from '../../src/report/page.js';
import { dataTable } from '../../src/report/table.js';
import { reportKind } from '../../src/report/file.js';

describe('html', () => {
  it('escapes every interpolated value, passes fragments through', () => {
    const evil = `<script>alert("x")</script>&'`;
    expect(esc(evil)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;');
    const inner = html`<b>${evil}</b>`;
    expect(html`<p title="${evil}">${inner}${[evil, inner]}${undefined}${null}${false}${0}</p>`.value).toBe(
      `<p title="${esc(evil)}"><b>${esc(evil)}</b>${esc(evil)}<b>${esc(evil)}</b>0</p>`,
    );
  });

  it('groups digits of plain decimals only', () => {
    expect(groupDigits('1234567.89')).toBe('1,234,567.89');
    expect(groupDigits('-1000')).toBe('-1,000');
    expect(groupDigits('999.999')).toBe('999.999');
    expect(groupDigits('abc')).toBe('abc');
  });
});

describe('page', () => {
  it('allows exactly its own style and script by hash, and nothing from the network', () => {
    const page = renderPage({ title: 'T <x>', body: [section('s', 'S', html`<p>hi</p>`)] });
    const csp = /Content-Security-Policy" content="([^"]+)"/.exec(page)![1];
    expect(csp).toContain("default-src 'none'");
    const script = /<script>([\s\S]*?)<\/script>/.exec(page)![1];
    const style = /<style>([\s\S]*?)<\/style>/.exec(page)![1];
    const hash = (t: string) => createHash('sha256').update(t).digest('base64');
    expect(csp).toContain(`script-src 'sha256-${hash(script)}'`);
    expect(csp).toContain(`style-src 'sha256-${hash(style)}'`);
    expect(page).toContain('<title>T &lt;x&gt;</title>');
    expect(page).toContain('prefers-color-scheme:dark');
  });
});

describe('table', () => {
  it('renders sort keys, a facet menu of the column values, and escapes cells', () => {
    const t = dataTable({
      id: 't',
      columns: [
        { key: 'a', header: 'a' },
        { key: 'n', header: 'n', numeric: true },
      ],
      rows: [
        { a: 'x<y', n: { text: '1,000.00', sort: 100000 } },
        { a: 'z', n: 5 },
      ],
      facet: 'a',
    }).value;
    expect(t).toContain('<td>x&lt;y</td>');
    expect(t).toContain('data-v="100000"');
    expect(t).toContain('<option>x&lt;y</option><option>z</option>');
    expect(t).toContain('data-type="number"');
    expect(dataTable({ id: 'e', columns: [], rows: [], empty: 'none' }).value).toContain('none');
  });
});

describe('charts', () => {
  it('picks round ticks covering the range', () => {
    expect(niceTicks(0, 97)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0, 1, 5, true)).toEqual([0, 1]);
    expect(niceTicks(0, 0)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });

  it('puts time ticks on round UTC minutes, hours or days', () => {
    const t0 = Date.parse('2026-12-04T10:07:00Z');
    const hour = timeTicks(t0, t0 + 3_600_000);
    expect(hour.values.map(hour.format)).toEqual(['10:15', '10:30', '10:45', '11:00']);
    const week = timeTicks(t0, t0 + 6 * 86_400_000);
    expect(week.values.map(week.format)).toEqual(['12-05', '12-06', '12-07', '12-08', '12-09', '12-10']);
    const svg = lineChart({ id: 't', title: 't', x: [t0, t0 + 1_800_000, t0 + 3_600_000], xTime: true, series: [{ name: 'ok %', values: [99.5, 98, 100] }] }).value;
    expect(svg).toContain('>10:30</text>');
    expect(svg).toContain('<title>ok % at 2026-12-04 10:37: 98</title>');
  });

  it('draws a line per series, breaking at gaps, against two axes', () => {
    const svg = lineChart({
      id: 'c',
      title: 'rps',
      x: [1, 2, 3, 4],
      series: [
        { name: 'a', values: [1, 2, null, 4] },
        { name: 'b', values: [10, 20, 30, 40], axis: 'right' },
      ],
    }).value;
    const paths = [...svg.matchAll(/<path class="line s(\d)" data-series="(\w)" d="([^"]+)"/g)];
    expect(paths.map((p) => p[2])).toEqual(['a', 'b']);
    expect(paths[0][3].match(/M/g)!.length).toBe(2); // the gap starts a new segment
    expect(paths[1][3].match(/L/g)!.length).toBe(3);
    expect(svg).toContain('<circle');
  });

  it('stacks bars and says so when there is nothing to draw', () => {
    const svg = barChart({ id: 'b', title: 't', categories: ['d1', 'd2'], series: [{ name: 'x', values: [1, 0] }, { name: 'y', values: [2, 3] }], stacked: true }).value;
    expect(svg.match(/<rect class="bar/g)!.length).toBe(3);
    const empty = barChart({ id: 'b', title: 't', categories: ['d1'], series: [{ name: 'x', values: [0] }], empty: 'Nothing here.' }).value;
    expect(empty).not.toContain('<svg');
    expect(empty).toContain('Nothing here.');
  });
});

describe('--report file names', () => {
  it('accepts .html/.htm/.xlsx as allowed, refuses the rest', () => {
    expect(reportKind('a.HTML', ['html'])).toBe('html');
    expect(reportKind('a.htm', ['html', 'xlsx'])).toBe('html');
    expect(reportKind('a.xlsx', ['html', 'xlsx'])).toBe('xlsx');
    expect(() => reportKind('a.xlsx', ['html'])).toThrow(/must end in \.html/);
    expect(() => reportKind('a.pdf', ['html', 'xlsx'])).toThrow(/\.html or \.xlsx/);
  });
});
