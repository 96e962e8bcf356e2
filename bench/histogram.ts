/**
 * Latency histograms for the bench: HdrHistogram (hdr-histogram-js) in microseconds, 3 significant
 * digits. Workers ship theirs to the parent as compressed base64 so the parent can merge them exactly
 * (merging percentiles would be wrong; merging histograms is not).
 */
import hdr from 'hdr-histogram-js';

export type Histogram = ReturnType<typeof hdr.build>;

/** Latency percentiles in milliseconds, as reported in tables and JSON. */
export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
}

export function newHistogram(): Histogram {
  return hdr.build({ numberOfSignificantValueDigits: 3 });
}

/** Records a latency given in nanoseconds (as from process.hrtime.bigint differences). */
export function recordNs(h: Histogram, ns: bigint | number): void {
  const us = Math.max(0, Math.round(Number(ns) / 1000));
  h.recordValue(us);
}

export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function mergeEncoded(into: Histogram, encoded: string): void {
  const other = hdr.decodeFromCompressedBase64(encoded);
  into.add(other);
}

export function summarize(h: Histogram): LatencySummary {
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    count: h.totalCount,
    p50Ms: ms(h.getValueAtPercentile(50)),
    p99Ms: ms(h.getValueAtPercentile(99)),
    p999Ms: ms(h.getValueAtPercentile(99.9)),
    maxMs: ms(h.maxValue),
    meanMs: ms(h.mean),
  };
}
