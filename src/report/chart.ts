/**
 * Charts as generated SVG: a line chart (time series, or a value against a category such as the
 * concurrency level, with an optional right-hand axis) and a bar chart (grouped or stacked). No
 * library and no script: the markup is computed here, colours come from the page's CSS classes
 * (`s0`..`s7`), so the same chart reads in light and dark mode.
 */
import { html, join, type Html } from './html.js';

/** Default width of a chart's coordinate space; text is 12.5 units high, so a wider chart shows smaller text. */
const WIDTH = 720;
const H = 280;
const PAD = { top: 14, right: 16, bottom: 42, left: 60 };
const PALETTE = 8;

/** Round tick values covering [min, max] (about `count` of them). */
export function niceTicks(min: number, max: number, count = 5, integer = false): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (max <= min) max = min + (Math.abs(min) || 1);
  const rough = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(rough));
  const norm = rough / mag;
  const step = Math.max(integer ? 1 : 0, (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag);
  const start = Math.floor(min / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let v = start; v < max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

const MINUTE = 60_000;
const TIME_STEPS = [MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, 60 * MINUTE, 3 * 60 * MINUTE, 6 * 60 * MINUTE, 12 * 60 * MINUTE, 24 * 60 * MINUTE, 7 * 24 * 60 * MINUTE];

/** Ticks on round UTC times over [min, max] (epoch ms): about 8 of them, labelled HH:MM, or MM-DD for whole days. */
export function timeTicks(min: number, max: number): { values: number[]; format: (v: number) => string } {
  const span = Math.max(max - min, MINUTE);
  const step = TIME_STEPS.find((s) => span / s <= 8) ?? Math.ceil(span / 8 / TIME_STEPS[TIME_STEPS.length - 1]) * TIME_STEPS[TIME_STEPS.length - 1];
  const values: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max; v += step) values.push(v);
  const days = step >= 24 * 60 * MINUTE;
  return { values, format: (v) => new Date(v).toISOString().slice(days ? 5 : 11, days ? 10 : 16) };
}

/** Short number: 1200 -> 1.2k, 0.25 -> 0.25. */
export function shortNumber(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(3)}k`;
  if (a >= 100 || a === 0) return String(Math.round(v));
  return String(+v.toPrecision(3));
}

/** One line (or one set of bars). */
export interface ChartSeries {
  name: string;
  /** One value per x (null: no value there, the line breaks). */
  values: (number | null)[];
  /** Which y axis the line is read against (line charts; default left). */
  axis?: 'left' | 'right';
}

/** Options shared by both charts. */
interface ChartBase {
  /** Caption above the chart. */
  title: string;
  /** Element id of the figure. */
  id: string;
  series: ChartSeries[];
  /** Formats y values (ticks and tooltips). */
  yFormat?: (v: number) => string;
  yLabel?: string;
  /** Width of the coordinate space (default 720): wide charts (full-width time series) give more. */
  width?: number;
  /** Counts: y ticks are whole numbers. */
  integer?: boolean;
  /** Shown instead of the plot when there is nothing to draw. */
  empty?: string;
}

/** Options of {@link lineChart}. */
export interface LineChartOptions extends ChartBase {
  /** Numbers: a linear x axis (time); strings: evenly spaced categories. */
  x: number[] | string[];
  xLabel?: string;
  xFormat?: (v: number) => string;
  /** The x values are times (epoch ms, UTC): ticks fall on round minutes, hours or days and read as such. */
  xTime?: boolean;
  rightLabel?: string;
  rightFormat?: (v: number) => string;
  /** Dashed vertical lines with a label (e.g. where each load level starts). */
  markers?: { x: number; label: string }[];
}

/** Options of {@link barChart}. */
export interface BarChartOptions extends ChartBase {
  categories: string[];
  /** Stack the series in one bar per category (default: side by side). */
  stacked?: boolean;
}

const f2 = (n: number) => (Math.round(n * 10) / 10).toString();

function figure(opts: ChartBase, svg: Html | null, legend: boolean): Html {
  const keys = legend && opts.series.length > 1 ? html`<ul class="legend">${opts.series.map((s, i) => html`<li><span class="key s${i % PALETTE}"></span>${s.name}</li>`)}</ul>` : '';
  return html`<figure class="chart${(opts.width ?? WIDTH) > WIDTH ? ' wide' : ''}" id="${opts.id}"><figcaption>${opts.title}</figcaption>${svg ?? html`<p class="muted empty">${opts.empty ?? 'No data.'}</p>`}${keys}</figure>
`;
}

function svgOpen(title: string, W: number): Html {
  return html`<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${title}" xmlns="http://www.w3.org/2000/svg"><title>${title}</title>`;
}

/** Left (and right) y axis with grid lines; returns the scale. */
function yAxis(W: number, ticks: number[], side: 'left' | 'right', format: (v: number) => string, label?: string, rightPad = PAD.right): { scale: (v: number) => number; markup: Html } {
  const lo = ticks[0];
  const hi = ticks[ticks.length - 1];
  const scale = (v: number) => PAD.top + (H - PAD.top - PAD.bottom) * (1 - (v - lo) / (hi - lo || 1));
  const x = side === 'left' ? PAD.left : W - rightPad;
  const parts = ticks.map((t) => {
    const y = f2(scale(t));
    const grid = side === 'left' ? html`<line class="grid" x1="${PAD.left}" x2="${W - rightPad}" y1="${y}" y2="${y}"/>` : '';
    return html`${grid}<text x="${side === 'left' ? x - 6 : x + 6}" y="${y}" dy="0.32em" text-anchor="${side === 'left' ? 'end' : 'start'}">${format(t)}</text>`;
  });
  const lab = label
    ? html`<text transform="translate(${side === 'left' ? 12 : W - 4},${PAD.top + (H - PAD.top - PAD.bottom) / 2}) rotate(-90)" text-anchor="middle">${label}</text>`
    : '';
  return { scale, markup: html`${parts}<line class="axis" x1="${x}" x2="${x}" y1="${PAD.top}" y2="${H - PAD.bottom}"/>${lab}` };
}

function extent(series: ChartSeries[]): [number, number] {
  let lo = 0;
  let hi = 0;
  for (const s of series) for (const v of s.values) if (v !== null && Number.isFinite(v)) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
  return [lo, hi];
}

/** A line chart: each series a line, read against the left or the right axis. */
export function lineChart(opts: LineChartOptions): Html {
  const W = opts.width ?? WIDTH;
  const n = opts.x.length;
  const hasData = n > 0 && opts.series.some((s) => s.values.some((v) => v !== null));
  if (!hasData) return figure(opts, null, false);
  const right = opts.series.filter((s) => s.axis === 'right');
  const left = opts.series.filter((s) => s.axis !== 'right');
  const pad = { ...PAD, right: right.length ? PAD.left : PAD.right };
  const fmt = opts.yFormat ?? shortNumber;
  const lAxis = yAxis(W, niceTicks(...extent(left), 5, opts.integer), 'left', fmt, opts.yLabel, pad.right);
  const rAxis = right.length ? yAxis(W, niceTicks(...extent(right)), 'right', opts.rightFormat ?? shortNumber, opts.rightLabel, pad.right) : undefined;

  const categorical = typeof opts.x[0] === 'string';
  const xs = opts.x as number[];
  const marks = (opts.markers ?? []).map((m) => m.x);
  const x0 = categorical ? 0 : Math.min(...xs, ...marks);
  const x1 = categorical ? Math.max(1, n - 1) : Math.max(...xs, ...marks);
  const plotW = W - PAD.left - pad.right;
  const sx = (i: number) => PAD.left + (categorical ? (n === 1 ? plotW / 2 : (plotW * i) / (n - 1)) : (plotW * (xs[i] - x0)) / (x1 - x0 || 1));
  const sxv = (v: number) => PAD.left + (plotW * (v - x0)) / (x1 - x0 || 1);

  // x ticks: every category (thinned when crowded), or round numbers.
  let xTicks: Html[];
  if (categorical) {
    const every = Math.max(1, Math.ceil(n / 12));
    xTicks = (opts.x as string[]).map((label, i) => (i % every === 0 ? html`<text x="${f2(sx(i))}" y="${H - PAD.bottom + 16}" text-anchor="middle">${label}</text>` : html``));
  } else {
    const ticks = opts.xTime ? timeTicks(x0, x1) : undefined;
    const xf = opts.xFormat ?? ticks?.format ?? shortNumber;
    xTicks = (ticks?.values ?? niceTicks(x0, x1, 8))
      .filter((t) => t >= x0 - 1e-9 && t <= x1 + 1e-9)
      .map((t) => html`<text x="${f2(sxv(t))}" y="${H - PAD.bottom + 16}" text-anchor="middle">${xf(t)}</text>`);
  }
  const xLab = opts.xLabel ? html`<text x="${PAD.left + plotW / 2}" y="${H - 6}" text-anchor="middle">${opts.xLabel}</text>` : '';
  const markers = (opts.markers ?? []).map(
    (m) => html`<line class="marker" x1="${f2(sxv(m.x))}" x2="${f2(sxv(m.x))}" y1="${PAD.top}" y2="${H - PAD.bottom}"/><text x="${f2(sxv(m.x) + 3)}" y="${PAD.top + 10}">${m.label}</text>`,
  );

  const dots = n <= 60;
  const lines = opts.series.map((s, si) => {
    const sy = s.axis === 'right' && rAxis ? rAxis.scale : lAxis.scale;
    const yf = s.axis === 'right' ? (opts.rightFormat ?? shortNumber) : fmt;
    let d = '';
    let pen = false;
    const points: Html[] = [];
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${f2(sx(i))},${f2(sy(v))}`;
      pen = true;
      if (dots) {
        const xl = categorical ? (opts.x as string[])[i] : opts.xTime ? new Date(xs[i]).toISOString().slice(0, 16).replace('T', ' ') : (opts.xFormat ?? shortNumber)(xs[i]);
        points.push(html`<circle class="s${si % PALETTE}" cx="${f2(sx(i))}" cy="${f2(sy(v))}" r="3"><title>${s.name} at ${xl}: ${yf(v)}</title></circle>`);
      }
    });
    // A single point still shows: a tiny horizontal stroke.
    if (!d.includes('L')) d = d.replace(/M([\d.]+),([\d.]+)/g, (_, a, b) => `M${a},${b}L${Number(a) + 0.5},${b}`);
    return html`<path class="line s${si % PALETTE}" data-series="${s.name}" d="${d}"/>${points}`;
  });

  const svg = html`${svgOpen(opts.title, W)}${lAxis.markup}${rAxis?.markup ?? ''}<line class="axis" x1="${PAD.left}" x2="${W - pad.right}" y1="${H - PAD.bottom}" y2="${H - PAD.bottom}"/>${xTicks}${xLab}${markers}${lines}</svg>`;
  return figure(opts, svg, true);
}

/** A category's label under the axis, on two lines when it is wider than its band. */
function categoryLabel(label: string, x: number, band: number): Html {
  const fits = label.length * 7.2 <= band;
  const cut = fits ? -1 : label.lastIndexOf(' ', Math.ceil(label.length / 2) + 2);
  if (cut <= 0) return html`<text x="${f2(x)}" y="${H - PAD.bottom + 16}" text-anchor="middle">${label}</text>`;
  return html`<text x="${f2(x)}" y="${H - PAD.bottom + 14}" text-anchor="middle"><tspan x="${f2(x)}">${label.slice(0, cut)}</tspan><tspan x="${f2(x)}" dy="1.15em">${label.slice(cut + 1)}</tspan></text>`;
}

/** A bar chart: one group (or stack) of bars per category. */
export function barChart(opts: BarChartOptions): Html {
  const W = opts.width ?? WIDTH;
  const n = opts.categories.length;
  const hasData = n > 0 && opts.series.some((s) => s.values.some((v) => v !== null && v !== 0));
  if (!hasData) return figure(opts, null, false);
  const fmt = opts.yFormat ?? shortNumber;
  let lo = 0;
  let hi = 0;
  if (opts.stacked) {
    for (let i = 0; i < n; i++) {
      let up = 0;
      let down = 0;
      for (const s of opts.series) {
        const v = s.values[i] ?? 0;
        if (v >= 0) up += v;
        else down += v;
      }
      hi = Math.max(hi, up);
      lo = Math.min(lo, down);
    }
  } else [lo, hi] = extent(opts.series);
  const axis = yAxis(W, niceTicks(lo, hi, 5, opts.integer), 'left', fmt, opts.yLabel);
  const plotW = W - PAD.left - PAD.right;
  const band = plotW / n;
  const groups = opts.stacked ? 1 : opts.series.length;
  const barW = Math.max(1, (band * 0.72) / groups);
  const zero = axis.scale(0);
  const every = Math.max(1, Math.ceil(n / 12));
  const bars: Html[] = [];
  const labels: Html[] = [];
  for (let i = 0; i < n; i++) {
    const left = PAD.left + band * i + band * 0.14;
    let up = 0;
    let down = 0;
    opts.series.forEach((s, si) => {
      const v = s.values[i];
      if (v === null || v === undefined || v === 0) return;
      let y0: number;
      let y1: number;
      if (opts.stacked) {
        const base = v >= 0 ? up : down;
        y0 = axis.scale(base);
        y1 = axis.scale(base + v);
        if (v >= 0) up += v;
        else down += v;
      } else {
        y0 = zero;
        y1 = axis.scale(v);
      }
      const x = opts.stacked ? left : left + barW * si;
      const top = Math.min(y0, y1);
      bars.push(
        html`<rect class="bar s${si % PALETTE}" data-series="${s.name}" data-category="${opts.categories[i]}" x="${f2(x)}" y="${f2(top)}" width="${f2(barW)}" height="${f2(Math.max(1, Math.abs(y1 - y0)))}"><title>${opts.categories[i]}, ${s.name}: ${fmt(v)}</title></rect>`,
      );
    });
    if (i % every === 0) labels.push(categoryLabel(opts.categories[i], PAD.left + band * (i + 0.5), band * every));
  }
  const svg = html`${svgOpen(opts.title, W)}${axis.markup}<line class="axis" x1="${PAD.left}" x2="${W - PAD.right}" y1="${f2(zero)}" y2="${f2(zero)}"/>${labels}${join(bars)}</svg>`;
  return figure(opts, svg, true);
}
