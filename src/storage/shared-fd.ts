/**
 * SharedFd: a file descriptor with a reference count. Reads and fsyncs run asynchronously on the
 * libuv pool, so closing an fd while one is in flight would make it fail (EBADF) or, worse, hit a
 * different file that reused the fd number. Every user retains the fd for the duration of its I/O;
 * `close()` only marks it, and the real close happens when the last user releases it.
 */
import fs from 'node:fs';
import { strict as assert } from 'node:assert';

export class SharedFd {
  readonly fd: number;
  private refs = 1; // the owner's reference, dropped by close()
  private closing = false;
  private closed = false;

  constructor(fd: number) {
    this.fd = fd;
  }

  /** False once close() was called; a caller must then reopen the file. */
  get usable(): boolean {
    return !this.closing;
  }

  retain(): void {
    assert(!this.closed, 'retain() on a closed fd');
    this.refs++;
  }

  release(): void {
    assert(this.refs > 0, 'release() without retain()');
    this.refs--;
    if (this.refs === 0) this.closeNow();
  }

  /** Drops the owner's reference; the fd closes once in-flight users release it. Idempotent. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.release();
  }

  private closeNow(): void {
    this.closed = true;
    fs.close(this.fd, () => undefined); // nothing useful to do if close fails: the fd is gone either way
  }

  /** Runs `fn` with the fd retained. */
  async use<T>(fn: (fd: number) => Promise<T>): Promise<T> {
    this.retain();
    try {
      return await fn(this.fd);
    } finally {
      this.release();
    }
  }
}

/** Promisified positional read that returns the byte count (fs.read, on the libuv pool). */
export function readAt(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

/** Reads exactly `length` bytes unless the file ends first; returns the bytes read. */
export async function readFully(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const n = await readAt(fd, buf, offset + done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
}

export function openFd(path: string, flags: string): Promise<number> {
  return new Promise((resolve, reject) => fs.open(path, flags, (err, fd) => (err ? reject(err) : resolve(fd))));
}
