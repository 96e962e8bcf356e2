// Simulated time: a binary min-heap of (time, sequence) events. The sequence number breaks ties in
// scheduling order, so two events at the same millisecond always run in the same order on replay.

interface Event {
  at: number;
  seq: number;
  run: () => void;
}

export class EventQueue {
  private heap: Event[] = [];
  private seq = 0;
  private current = 0;

  get now(): number {
    return this.current;
  }

  get size(): number {
    return this.heap.length;
  }

  at(timeMs: number, run: () => void): void {
    this.push({ at: Math.max(timeMs, this.current), seq: this.seq++, run });
  }

  after(delayMs: number, run: () => void): void {
    this.at(this.current + delayMs, run);
  }

  /** Runs events up to and including `untilMs`; returns how many ran. */
  runUntil(untilMs: number): number {
    let n = 0;
    while (this.heap.length > 0 && this.heap[0]!.at <= untilMs) {
      const e = this.pop();
      this.current = e.at;
      e.run();
      n++;
    }
    this.current = Math.max(this.current, untilMs);
    return n;
  }

  private less(a: Event, b: Event): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(e: Event): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Event {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
