/**
 * How `ferry consume` prints one record, as one line (newline included).
 * - text: the value as UTF-8 (`null` for a null value); with --print-key, `KEY<TAB>VALUE`.
 * - json: {"key","value","partition","offset","timestamp","headers"}; key and value are UTF-8
 *   strings or null, headers an object of UTF-8 strings (a repeated header name keeps its last
 *   value), offset and timestamp numbers.
 */

export type OutputFormat = 'text' | 'json';

/** The fields of a consumed record this module reads; structurally matches the SDK's record. */
export interface PrintableRecord {
  partition: number;
  offset: number | bigint | string;
  timestamp: number | bigint | string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: unknown;
}

export function formatRecord(record: PrintableRecord, format: OutputFormat, printKey: boolean): string {
  if (format === 'json') {
    return `${JSON.stringify({
      key: bufferText(record.key),
      value: bufferText(record.value),
      partition: record.partition,
      offset: Number(record.offset),
      timestamp: Number(record.timestamp),
      headers: headersObject(record.headers),
    })}\n`;
  }
  const value = bufferText(record.value) ?? 'null';
  return printKey ? `${bufferText(record.key) ?? 'null'}\t${value}\n` : `${value}\n`;
}

function bufferText(b: Buffer | Uint8Array | string | null | undefined): string | null {
  if (b === null || b === undefined) return null;
  if (typeof b === 'string') return b;
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
}

/** Accepts headers as an array of {key, value} or as a plain object, whichever the SDK hands out. */
function headersObject(headers: unknown): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  if (Array.isArray(headers)) {
    for (const h of headers as { key: string; value: Buffer | string | null }[]) out[h.key] = bufferText(h.value);
  } else if (headers && typeof headers === 'object') {
    for (const [k, v] of Object.entries(headers as Record<string, Buffer | string | null>)) out[k] = bufferText(v);
  }
  return out;
}
