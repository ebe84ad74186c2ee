/**
 * A small, dependency-free SVG chart writer for the comparison reports: line charts
 * (series with one marker per point, plus horizontal reference lines such as "the
 * centralized baseline") and bar charts (optionally stacked). Output is standalone SVG
 * 1.1 that browsers, GitHub's Markdown view and image viewers render.
 */

export interface LineSeries {
  name: string;
  /** [x, y] pairs; non-finite y values are skipped. */
  points: readonly (readonly [number, number])[];
  color?: string;
  dashed?: boolean;
}

export interface RefLine {
  name: string;
  y: number;
  color?: string;
  dashed?: boolean;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly LineSeries[];
  refLines?: readonly RefLine[];
  width?: number;
  height?: number;
  /** Fixed y range; by default it covers the data (and reference lines) with a margin. */
  yMin?: number;
  yMax?: number;
  /** Tick label format for the y axis. */
  yFormat?: (v: number) => string;
}

export interface BarSeries {
  name: string;
  values: readonly number[];
  color?: string;
}

export interface BarChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** One label per bar group (e.g. the round number). */
  categories: readonly string[];
  /** Stacked bottom to top in the order given. */
  series: readonly BarSeries[];
  width?: number;
  height?: number;
  yFormat?: (v: number) => string;
}

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

const MARGIN = { top: 40, right: 20, bottom: 52, left: 70 };
const LEGEND_ROW = 18;

export function escapeXml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** Rounds for coordinates: short output, no "1e-7" forms. */
function c(v: number): string {
  return (Math.round(v * 100) / 100).toString();
}

/** "Nice" tick values covering [lo, hi] (1, 2, 2.5, 5 × 10^k steps). */
export function niceTicks(lo: number, hi: number, target = 6): number[] {
  if (!(Number.isFinite(lo) && Number.isFinite(hi))) return [0, 1];
  if (hi === lo) {
    const pad = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / Math.max(1, target);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  for (let k = first; k <= last && out.length < 100; k++) out.push(Number((k * step).toPrecision(12)));
  return out;
}

function defaultFormat(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e9) return `${Number((v / 1e9).toPrecision(3))}G`;
  if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e3) return `${Number((v / 1e3).toPrecision(3))}k`;
  return Number(v.toPrecision(3)).toString();
}

interface Frame {
  width: number;
  height: number;
  plot: { x: number; y: number; w: number; h: number };
  parts: string[];
}

function frame(title: string, width: number, height: number, legendRows: number): Frame {
  const top = MARGIN.top + legendRows * LEGEND_ROW;
  const plot = { x: MARGIN.left, y: top, w: width - MARGIN.left - MARGIN.right, h: height - top - MARGIN.bottom };
  const parts = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${c(width / 2)}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  return { width, height, plot, parts };
}

function legend(f: Frame, items: { name: string; color: string; dashed?: boolean; kind: 'line' | 'box' }[]): void {
  // Items flow left to right, wrapping into rows of at most 3.
  const perRow = 3;
  const colW = (f.width - MARGIN.left - MARGIN.right) / perRow;
  items.forEach((it, i) => {
    const x = MARGIN.left + (i % perRow) * colW;
    const y = MARGIN.top - 8 + Math.floor(i / perRow) * LEGEND_ROW;
    const dash = it.dashed ? ' stroke-dasharray="6 4"' : '';
    const mark =
      it.kind === 'line'
        ? `<line x1="${c(x)}" y1="${c(y)}" x2="${c(x + 24)}" y2="${c(y)}" stroke="${it.color}" stroke-width="2.5"${dash}/>`
        : `<rect x="${c(x + 6)}" y="${c(y - 6)}" width="12" height="12" fill="${it.color}"/>`;
    f.parts.push(
      `<g class="legend-item">${mark}<text x="${c(x + 30)}" y="${c(y + 4)}">${escapeXml(it.name)}</text></g>`,
    );
  });
}

function axes(
  f: Frame,
  xLabel: string,
  yLabel: string,
  yTicks: number[],
  yPos: (v: number) => number,
  yFormat: (v: number) => string,
): void {
  const { x, y, w, h } = f.plot;
  for (const t of yTicks) {
    const py = yPos(t);
    f.parts.push(`<line x1="${c(x)}" y1="${c(py)}" x2="${c(x + w)}" y2="${c(py)}" stroke="#e5e5e5"/>`);
    f.parts.push(`<text x="${c(x - 6)}" y="${c(py + 4)}" text-anchor="end">${escapeXml(yFormat(t))}</text>`);
  }
  f.parts.push(`<line x1="${c(x)}" y1="${c(y + h)}" x2="${c(x + w)}" y2="${c(y + h)}" stroke="#333"/>`);
  f.parts.push(`<line x1="${c(x)}" y1="${c(y)}" x2="${c(x)}" y2="${c(y + h)}" stroke="#333"/>`);
  f.parts.push(`<text x="${c(x + w / 2)}" y="${c(f.height - 12)}" text-anchor="middle">${escapeXml(xLabel)}</text>`);
  f.parts.push(
    `<text x="16" y="${c(y + h / 2)}" text-anchor="middle" transform="rotate(-90 16 ${c(y + h / 2)})">${escapeXml(yLabel)}</text>`,
  );
}

/** A line chart: one polyline and one circle marker per finite point of each series. */
export function lineChart(o: LineChartOptions): string {
  const width = o.width ?? 720;
  const height = o.height ?? 400;
  const series = o.series.map((s) => ({
    ...s,
    points: s.points.filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py)),
  }));
  const refs = (o.refLines ?? []).filter((r) => Number.isFinite(r.y));
  const items = [
    ...series.map((s, i) => ({
      name: s.name,
      color: s.color ?? PALETTE[i % PALETTE.length]!,
      dashed: s.dashed ?? false,
      kind: 'line' as const,
    })),
    ...refs.map((r, i) => ({
      name: r.name,
      color: r.color ?? PALETTE[(series.length + i) % PALETTE.length]!,
      dashed: r.dashed ?? true,
      kind: 'line' as const,
    })),
  ];
  const f = frame(o.title, width, height, Math.ceil(items.length / 3));
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = [...series.flatMap((s) => s.points.map((p) => p[1])), ...refs.map((r) => r.y)];
  const xMin = xs.length ? Math.min(...xs) : 0;
  const xMax = xs.length ? Math.max(...xs) : 1;
  let yLo = o.yMin ?? (ys.length ? Math.min(...ys) : 0);
  let yHi = o.yMax ?? (ys.length ? Math.max(...ys) : 1);
  if (o.yMin === undefined || o.yMax === undefined) {
    const pad = (yHi - yLo) * 0.05 || Math.abs(yHi) * 0.05 || 0.05;
    if (o.yMin === undefined) yLo -= pad;
    if (o.yMax === undefined) yHi += pad;
  }
  const yTicks = niceTicks(yLo, yHi);
  if (o.yMin === undefined) yLo = Math.min(yLo, yTicks[0]!);
  if (o.yMax === undefined) yHi = Math.max(yHi, yTicks.at(-1)!);
  const shownTicks = yTicks.filter((t) => t >= yLo - 1e-12 && t <= yHi + 1e-12);
  const { x, y, w, h } = f.plot;
  const xPos = (v: number) => (xMax === xMin ? x + w / 2 : x + ((v - xMin) / (xMax - xMin)) * w);
  const yPos = (v: number) => y + h - ((v - yLo) / (yHi - yLo || 1)) * h;
  axes(f, o.xLabel, o.yLabel, shownTicks, yPos, o.yFormat ?? defaultFormat);
  // x ticks: integers when the data are (rounds), at most ~12 labels.
  const span = xMax - xMin;
  const allInt = xs.every((v) => Number.isInteger(v));
  const xTicks =
    allInt && span <= 12
      ? Array.from({ length: span + 1 }, (_, i) => xMin + i)
      : niceTicks(xMin, xMax, 10).filter((t) => t >= xMin && t <= xMax);
  for (const t of xTicks) {
    f.parts.push(`<line x1="${c(xPos(t))}" y1="${c(y + h)}" x2="${c(xPos(t))}" y2="${c(y + h + 4)}" stroke="#333"/>`);
    f.parts.push(
      `<text x="${c(xPos(t))}" y="${c(y + h + 18)}" text-anchor="middle">${escapeXml(defaultFormat(t))}</text>`,
    );
  }
  refs.forEach((r, i) => {
    const color = r.color ?? PALETTE[(series.length + i) % PALETTE.length]!;
    const dash = (r.dashed ?? true) ? ' stroke-dasharray="6 4"' : '';
    f.parts.push(
      `<line class="ref-line" x1="${c(x)}" y1="${c(yPos(r.y))}" x2="${c(x + w)}" y2="${c(yPos(r.y))}" stroke="${color}" stroke-width="2"${dash}><title>${escapeXml(`${r.name}: ${r.y}`)}</title></line>`,
    );
  });
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    const pts = s.points.map(([px, py]) => `${c(xPos(px))},${c(yPos(py))}`).join(' ');
    f.parts.push(`<g class="series" data-name="${escapeXml(s.name)}">`);
    if (s.points.length > 1)
      f.parts.push(`<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="2.5"${dash}/>`);
    for (const [px, py] of s.points) {
      f.parts.push(
        `<circle class="point" cx="${c(xPos(px))}" cy="${c(yPos(py))}" r="3" fill="${color}"><title>${escapeXml(`${s.name}: x=${px}, y=${py}`)}</title></circle>`,
      );
    }
    f.parts.push(`</g>`);
  });
  legend(f, items);
  f.parts.push('</svg>');
  return f.parts.join('\n') + '\n';
}

/** A bar chart with one bar per category, the series stacked bottom to top. */
export function barChart(o: BarChartOptions): string {
  const width = o.width ?? 720;
  const height = o.height ?? 400;
  const n = o.categories.length;
  for (const s of o.series) {
    if (s.values.length !== n)
      throw new Error(`bar series "${s.name}" has ${s.values.length} values for ${n} categories`);
  }
  const items = o.series.map((s, i) => ({
    name: s.name,
    color: s.color ?? PALETTE[i % PALETTE.length]!,
    kind: 'box' as const,
  }));
  const f = frame(o.title, width, height, Math.ceil(items.length / 3));
  const totals = o.categories.map((_, k) => o.series.reduce((sum, s) => sum + Math.max(0, s.values[k] ?? 0), 0));
  const ticks = niceTicks(0, Math.max(1e-12, ...totals));
  const yHi = ticks.at(-1)!;
  const { x, y, w, h } = f.plot;
  const yPos = (v: number) => y + h - (v / yHi) * h;
  axes(
    f,
    o.xLabel,
    o.yLabel,
    ticks.filter((t) => t >= 0),
    yPos,
    o.yFormat ?? defaultFormat,
  );
  const slot = w / Math.max(1, n);
  const barW = Math.max(1, slot * 0.7);
  const labelEvery = Math.max(1, Math.ceil(n / 20));
  o.categories.forEach((cat, k) => {
    const bx = x + k * slot + (slot - barW) / 2;
    let base = 0;
    o.series.forEach((s, i) => {
      const v = Math.max(0, s.values[k] ?? 0);
      const color = s.color ?? PALETTE[i % PALETTE.length]!;
      f.parts.push(
        `<rect class="bar" x="${c(bx)}" y="${c(yPos(base + v))}" width="${c(barW)}" height="${c(yPos(base) - yPos(base + v))}" fill="${color}"><title>${escapeXml(`${cat} ${s.name}: ${v}`)}</title></rect>`,
      );
      base += v;
    });
    if (k % labelEvery === 0)
      f.parts.push(`<text x="${c(bx + barW / 2)}" y="${c(y + h + 18)}" text-anchor="middle">${escapeXml(cat)}</text>`);
  });
  legend(f, items);
  f.parts.push('</svg>');
  return f.parts.join('\n') + '\n';
}
