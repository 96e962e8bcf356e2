/**
 * SVG charts for RESULTS.md, drawn from numbers (no library, no fonts to embed): grouped bars with
 * min–max whiskers for throughput, and latency-by-percentile lines on a "nines" axis
 * (50%, 90%, 99%, 99.9%, ...: x = −log10(1 − p)) with a log-scale latency axis. Output is
 * deterministic for the same input, so regenerated charts diff cleanly.
 */

export interface Series {
  name: string;
  color: string;
}

export interface BarValue {
  median: number;
  min: number;
  max: number;
}

export interface BarGroup {
  /** Up to two lines, separated by '\n'. */
  label: string;
  /** One per series, in series order; undefined draws "n/a". */
  values: (BarValue | undefined)[];
}

export interface BarChartSpec {
  title: string;
  subtitle?: string;
  yLabel: string;
  series: Series[];
  groups: BarGroup[];
}

export interface LineSeries extends Series {
  points: { p: number; ms: number }[];
}

export interface PercentileChartSpec {
  title: string;
  subtitle?: string;
  series: LineSeries[];
}

export const SYSTEM_COLORS: Record<string, string> = {
  ferry: '#1971c2',
  'ferry-rf3': '#74c0fc',
  redis: '#e03131',
  nats: '#2f9e44',
  rabbitmq: '#f76707',
};

const FONT = 'font-family="Helvetica, Arial, sans-serif"';
const MARGIN = { top: 80, right: 24, bottom: 64, left: 76 };
/** Baseline of the legend row, under the title and subtitle. */
const LEGEND_Y_PX = 62;
const BAR_WIDTH_PX = 18;
const GROUP_GAP_PX = 26;
/** Room for a two-line group label such as "consume-cold / 1 KiB" at 11 px. */
const GROUP_MIN_WIDTH_PX = 84;
const PLOT_HEIGHT_PX = 280;
const LINE_CHART_WIDTH_PX = 720;
/** Where "max" sits on the nines axis (beyond 99.99%). */
const MAX_NINES = 5;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function num(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/** 1234567 → "1.23M", 45600 → "45.6k", 0.123 → "0.123". */
export function compact(n: number): string {
  const a = Math.abs(n);
  const trim = (s: string) => (s.includes('.') && !s.includes('e') ? s.replace(/\.?0+$/, '') : s);
  if (a >= 1e6) return `${trim((n / 1e6).toPrecision(3))}M`;
  if (a >= 1e3) return `${trim((n / 1e3).toPrecision(3))}k`;
  if (a >= 1) return trim(n.toPrecision(3));
  if (a === 0) return '0';
  return trim(n.toPrecision(2));
}

/** A round axis maximum at or above `max` (1, 2, 2.5 or 5 × 10^k) and its tick step. */
function niceAxis(max: number, ticks = 5): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.2 };
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  return { top: Math.ceil(max / step) * step, step };
}

function header(width: number, height: number, title: string, subtitle?: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="24" font-size="16" font-weight="bold" fill="#212529">${esc(title)}</text>`,
    ...(subtitle ? [`<text x="${MARGIN.left}" y="42" font-size="11" fill="#495057">${esc(subtitle)}</text>`] : []),
  ];
}

/** One row of swatches from the left edge of the plot (names are short: system names). */
function legend(series: Series[]): string[] {
  const out: string[] = [];
  let x = MARGIN.left;
  for (const s of series) {
    out.push(`<rect x="${num(x)}" y="${LEGEND_Y_PX - 10}" width="12" height="12" fill="${s.color}"/>`);
    out.push(`<text x="${num(x + 16)}" y="${LEGEND_Y_PX}" font-size="11" fill="#212529">${esc(s.name)}</text>`);
    x += 16 + s.name.length * 6.5 + 16;
  }
  return out;
}

export function barChart(spec: BarChartSpec): string {
  const groupWidth = Math.max(GROUP_MIN_WIDTH_PX, spec.series.length * BAR_WIDTH_PX + GROUP_GAP_PX);
  // Wide enough for the subtitle too (about 6 px per character at 11 px).
  const plotWidth = Math.max(420, spec.groups.length * groupWidth, (spec.subtitle?.length ?? 0) * 6);
  const width = MARGIN.left + plotWidth + MARGIN.right;
  const height = MARGIN.top + PLOT_HEIGHT_PX + MARGIN.bottom;
  const maxValue = Math.max(0, ...spec.groups.flatMap((g) => g.values.map((v) => (v ? Math.max(v.max, v.median) : 0))));
  const { top, step } = niceAxis(maxValue);
  const y = (v: number) => MARGIN.top + PLOT_HEIGHT_PX - (v / top) * PLOT_HEIGHT_PX;
  const out = header(width, height, spec.title, spec.subtitle);
  out.push(...legend(spec.series));
  for (let v = 0; v <= top + step / 2; v += step) {
    out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${num(y(v))}" y2="${num(y(v))}" stroke="#e9ecef"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${num(y(v) + 4)}" font-size="11" text-anchor="end" fill="#495057">${compact(v)}</text>`);
  }
  out.push(`<text transform="translate(16 ${MARGIN.top + PLOT_HEIGHT_PX / 2}) rotate(-90)" font-size="12" text-anchor="middle" fill="#212529">${esc(spec.yLabel)}</text>`);
  spec.groups.forEach((g, gi) => {
    const x0 = MARGIN.left + gi * groupWidth + (groupWidth - spec.series.length * BAR_WIDTH_PX) / 2;
    g.values.forEach((v, si) => {
      const x = x0 + si * BAR_WIDTH_PX;
      const color = spec.series[si]!.color;
      if (!v) {
        out.push(`<text x="${num(x + BAR_WIDTH_PX / 2)}" y="${num(y(0) - 4)}" font-size="8" text-anchor="middle" fill="#adb5bd" transform="rotate(-90 ${num(x + BAR_WIDTH_PX / 2)} ${num(y(0) - 4)})">n/a</text>`);
        return;
      }
      out.push(`<rect x="${num(x + 1)}" y="${num(y(v.median))}" width="${BAR_WIDTH_PX - 2}" height="${num(y(0) - y(v.median))}" fill="${color}"><title>${esc(`${spec.series[si]!.name}, ${g.label}: ${compact(v.median)} (${compact(v.min)}–${compact(v.max)})`)}</title></rect>`);
      if (v.max > v.min) {
        const cx = num(x + BAR_WIDTH_PX / 2);
        out.push(`<line x1="${cx}" x2="${cx}" y1="${num(y(v.min))}" y2="${num(y(v.max))}" stroke="#212529" stroke-width="1"/>`);
      }
      const ly = y(Math.max(v.median, v.max)) - 4;
      const lx = x + BAR_WIDTH_PX / 2 + 3;
      out.push(`<text x="${num(lx)}" y="${num(ly)}" font-size="9" fill="#343a40" transform="rotate(-90 ${num(lx)} ${num(ly)})">${compact(v.median)}</text>`);
    });
    g.label.split('\n').slice(0, 2).forEach((line, li) => {
      out.push(`<text x="${num(x0 + (spec.series.length * BAR_WIDTH_PX) / 2)}" y="${MARGIN.top + PLOT_HEIGHT_PX + 16 + li * 14}" font-size="11" text-anchor="middle" fill="#212529">${esc(line)}</text>`);
    });
  });
  out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${num(y(0))}" y2="${num(y(0))}" stroke="#495057"/>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function nines(p: number): number {
  return p >= 100 ? MAX_NINES : Math.min(MAX_NINES - 0.5, -Math.log10(1 - p / 100));
}

export function percentileChart(spec: PercentileChartSpec): string {
  const plotWidth = LINE_CHART_WIDTH_PX - MARGIN.left - MARGIN.right;
  const height = MARGIN.top + PLOT_HEIGHT_PX + MARGIN.bottom;
  const all = spec.series.flatMap((s) => s.points.map((p) => Math.max(p.ms, 0.001)));
  const lo = Math.floor(Math.log10(Math.min(1, ...all)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...all, 1))));
  const x = (p: number) => MARGIN.left + (nines(p) - nines(50)) / (MAX_NINES - nines(50)) * plotWidth;
  const y = (ms: number) => MARGIN.top + PLOT_HEIGHT_PX - ((Math.log10(Math.max(ms, 0.001)) - lo) / (hi - lo)) * PLOT_HEIGHT_PX;
  const out = header(LINE_CHART_WIDTH_PX, height, spec.title, spec.subtitle);
  out.push(...legend(spec.series));
  for (let e = lo; e <= hi; e++) {
    const ms = 10 ** e;
    out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${num(y(ms))}" y2="${num(y(ms))}" stroke="#e9ecef"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${num(y(ms) + 4)}" font-size="11" text-anchor="end" fill="#495057">${compact(ms)}</text>`);
  }
  for (const [p, label] of [[50, '50%'], [90, '90%'], [99, '99%'], [99.9, '99.9%'], [99.99, '99.99%'], [100, 'max']] as const) {
    out.push(`<line x1="${num(x(p))}" x2="${num(x(p))}" y1="${MARGIN.top}" y2="${MARGIN.top + PLOT_HEIGHT_PX}" stroke="#e9ecef"/>`);
    out.push(`<text x="${num(x(p))}" y="${MARGIN.top + PLOT_HEIGHT_PX + 16}" font-size="11" text-anchor="middle" fill="#495057">${label}</text>`);
  }
  out.push(`<text x="${MARGIN.left + plotWidth / 2}" y="${height - 18}" font-size="12" text-anchor="middle" fill="#212529">percentile</text>`);
  out.push(`<text transform="translate(16 ${MARGIN.top + PLOT_HEIGHT_PX / 2}) rotate(-90)" font-size="12" text-anchor="middle" fill="#212529">end-to-end latency, ms (log)</text>`);
  for (const s of spec.series) {
    if (s.points.length === 0) continue;
    const path = s.points.map((pt, i) => `${i === 0 ? 'M' : 'L'}${num(x(pt.p))},${num(y(pt.ms))}`).join(' ');
    out.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const pt of s.points) out.push(`<circle cx="${num(x(pt.p))}" cy="${num(y(pt.ms))}" r="2.5" fill="${s.color}"><title>${esc(`${s.name} p${pt.p}: ${pt.ms} ms`)}</title></circle>`);
  }
  out.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotWidth}" height="${PLOT_HEIGHT_PX}" fill="none" stroke="#495057"/>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
