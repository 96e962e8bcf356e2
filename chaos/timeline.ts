/**
 * A self-contained SVG of one run: faults per broker (lanes), acknowledged throughput and failed
 * sends (per 250 ms), and ack latency (median and max per 250 ms, log scale) on one time axis.
 */
import type { HistoryEvent } from './history.js';
import type { CheckResult } from './checker.js';

type Ev<T extends HistoryEvent['type']> = Extract<HistoryEvent, { type: T }>;

const COLORS: Record<string, string> = { kill: '#d62728', lazyfs: '#9467bd', pause: '#ff7f0e', partition: '#1f77b4', power: '#000000' };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function timelineSvg(events: readonly HistoryEvent[], result: CheckResult, title: string): string {
  const of = <T extends HistoryEvent['type']>(type: T) => events.filter((e): e is Ev<T> => e.type === type);
  const run = of('run')[0];
  const nodes = run?.brokers ?? 3;
  const acks = of('ack');
  const fails = of('send-fail');
  const tMax = Math.max(1000, ...events.map((e) => e.t));
  const W = 1200;
  const left = 70;
  const right = 20;
  const plotW = W - left - right;
  const x = (t: number) => left + (t / tMax) * plotW;
  const laneH = 18;
  const faultTop = 40;
  const faultH = nodes * laneH;
  const thrTop = faultTop + faultH + 30;
  const thrH = 140;
  const latTop = thrTop + thrH + 40;
  const latH = 140;
  const H = latTop + latH + 50;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${left}" y="16" font-size="13" font-weight="bold">${esc(title)}</text>`);
  out.push(`<text x="${left}" y="30" fill="${result.ok ? '#2ca02c' : '#d62728'}">${esc(`${result.ok ? 'OK' : `FAIL (${[...new Set(result.violations.map((v) => v.split(':')[0]))].join(', ')})`} — acked ${result.acked}/${result.ops}, failed ${result.failed}, lost ${result.lost}, duplicated ${result.duplicated}, reordered ${result.reordered}, unavailable ${result.unavailableSeconds}s`)}</text>`);

  // Fault lanes.
  for (let n = 1; n <= nodes; n++) {
    const y = faultTop + (n - 1) * laneH;
    out.push(`<text x="${left - 8}" y="${y + 13}" text-anchor="end">node ${n}</text>`);
    out.push(`<rect x="${left}" y="${y}" width="${plotW}" height="${laneH - 2}" fill="#f4f4f4"/>`);
  }
  const stops = new Map<number, number>();
  for (const s of of('fault-stop')) stops.set(s.fault, s.t);
  for (const f of of('fault-start')) {
    const end = stops.get(f.fault) ?? tMax;
    for (const n of f.nodes) {
      const y = faultTop + (n - 1) * laneH;
      out.push(`<rect x="${x(f.t).toFixed(1)}" y="${y}" width="${Math.max(1, x(end) - x(f.t)).toFixed(1)}" height="${laneH - 2}" fill="${COLORS[f.kind] ?? '#777'}" opacity="0.8"><title>${esc(`${f.kind}: ${f.detail} (${f.t}–${end} ms)`)}</title></rect>`);
      out.push(`<text x="${(x(f.t) + 2).toFixed(1)}" y="${y + 12}" fill="white" font-size="9">${esc(f.kind)}</text>`);
    }
  }
  let lx = left;
  for (const [k, c] of Object.entries(COLORS)) {
    out.push(`<rect x="${lx}" y="${faultTop + faultH + 4}" width="10" height="10" fill="${c}"/><text x="${lx + 14}" y="${faultTop + faultH + 13}">${k}</text>`);
    lx += 90;
  }

  // Buckets.
  const B = 250;
  const nb = Math.ceil(tMax / B) + 1;
  const ackCount = new Array<number>(nb).fill(0);
  const failCount = new Array<number>(nb).fill(0);
  const lat: number[][] = Array.from({ length: nb }, () => []);
  for (const a of acks) {
    const b = Math.floor(a.t / B);
    ackCount[b]!++;
    lat[b]!.push(a.latencyMs);
  }
  for (const f of fails) failCount[Math.floor(f.t / B)]!++;
  const maxRate = Math.max(10, ...ackCount.map((c) => (c * 1000) / B));
  const yThr = (r: number) => thrTop + thrH - (r / maxRate) * thrH;
  out.push(`<rect x="${left}" y="${thrTop}" width="${plotW}" height="${thrH}" fill="none" stroke="#ccc"/>`);
  out.push(`<text x="${left - 8}" y="${thrTop + 10}" text-anchor="end">${Math.round(maxRate)}/s</text><text x="${left - 8}" y="${thrTop + thrH}" text-anchor="end">0</text>`);
  out.push(`<text x="${left + 4}" y="${thrTop - 4}">acks/s (green), failed sends/s (red)</text>`);
  out.push(`<polyline fill="none" stroke="#2ca02c" stroke-width="1.2" points="${ackCount.map((c, i) => `${x(i * B + B / 2).toFixed(1)},${yThr((c * 1000) / B).toFixed(1)}`).join(' ')}"/>`);
  failCount.forEach((c, i) => {
    if (c > 0) out.push(`<rect x="${x(i * B).toFixed(1)}" y="${yThr(Math.min(maxRate, (c * 1000) / B)).toFixed(1)}" width="${Math.max(1, x(B) - x(0)).toFixed(1)}" height="${(thrTop + thrH - yThr(Math.min(maxRate, (c * 1000) / B))).toFixed(1)}" fill="#d62728" opacity="0.6"/>`);
  });

  // Latency (log scale 1 ms .. 60 s).
  const lo = Math.log10(1);
  const hi = Math.log10(60_000);
  const yLat = (ms: number) => latTop + latH - ((Math.log10(Math.max(1, ms)) - lo) / (hi - lo)) * latH;
  out.push(`<rect x="${left}" y="${latTop}" width="${plotW}" height="${latH}" fill="none" stroke="#ccc"/>`);
  out.push(`<text x="${left + 4}" y="${latTop - 4}">ack latency, ms (log): median (blue), max (orange)</text>`);
  for (const v of [1, 10, 100, 1000, 10_000]) {
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${yLat(v).toFixed(1)}" y2="${yLat(v).toFixed(1)}" stroke="#eee"/><text x="${left - 8}" y="${(yLat(v) + 4).toFixed(1)}" text-anchor="end">${v}</text>`);
  }
  const med: string[] = [];
  const mx: string[] = [];
  lat.forEach((l, i) => {
    if (l.length === 0) return;
    l.sort((a, b) => a - b);
    med.push(`${x(i * B + B / 2).toFixed(1)},${yLat(l[Math.floor(l.length / 2)]!).toFixed(1)}`);
    mx.push(`${x(i * B + B / 2).toFixed(1)},${yLat(l[l.length - 1]!).toFixed(1)}`);
  });
  out.push(`<polyline fill="none" stroke="#ff7f0e" stroke-width="1" points="${mx.join(' ')}"/>`);
  out.push(`<polyline fill="none" stroke="#1f77b4" stroke-width="1.2" points="${med.join(' ')}"/>`);

  // Phases and time axis.
  for (const p of of('phase')) {
    out.push(`<line x1="${x(p.t).toFixed(1)}" x2="${x(p.t).toFixed(1)}" y1="${faultTop}" y2="${latTop + latH}" stroke="#555" stroke-dasharray="4 3"/><text x="${(x(p.t) + 3).toFixed(1)}" y="${latTop + latH + 14}" font-size="9">${esc(p.name)}</text>`);
  }
  const step = tMax > 120_000 ? 20_000 : tMax > 40_000 ? 10_000 : 5_000;
  for (let t = 0; t <= tMax; t += step) {
    out.push(`<text x="${x(t).toFixed(1)}" y="${latTop + latH + 30}" text-anchor="middle">${t / 1000}s</text>`);
  }
  out.push('</svg>');
  return out.join('\n');
}
