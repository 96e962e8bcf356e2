/** Consumer helpers shared by the SDK tests. */
import type { ConsumerRecord } from '../../src/client/index.js';

/** The next `n` records of an iteration (fewer if it ends first). */
export async function take(it: AsyncIterator<ConsumerRecord>, n: number): Promise<ConsumerRecord[]> {
  const out: ConsumerRecord[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}
