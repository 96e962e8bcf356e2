/**
 * Plumbing shared by the client subcommands (topic, produce, consume):
 * - the `--bootstrap` option every client command takes, and the Ferry client built from it;
 * - flag value parsers that reject bad input through commander, so a bad flag prints usage;
 * - the error boundary: a FerryError prints `ferry: CODE: message` and exits 1, anything else
 *   prints `ferry: message` and exits 1.
 *
 * The process exits explicitly when an action ends: an open gRPC channel or a pending long-poll
 * must not keep a finished command alive. stdout/stderr writes to pipes and files are synchronous
 * on Linux, so nothing written before the exit is lost.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { Ferry, FerryError } from '../../src/client/index.js';

export const DEFAULT_BOOTSTRAP = '127.0.0.1:9092';

/** Adds `--bootstrap HOST:PORT[,HOST:PORT...]` (default 127.0.0.1:9092) to a client command. */
export function addBootstrapOption(cmd: Command): Command {
  return cmd.option('--bootstrap <hosts>', 'broker address(es), HOST:PORT[,HOST:PORT...]', parseBootstrap, DEFAULT_BOOTSTRAP);
}

/**
 * Validates `HOST:PORT[,HOST:PORT...]` and returns it unchanged (split by `bootstrapList`). Any one
 * live broker of the list is enough: the client tries them in turn and then learns the whole
 * cluster from the first answer.
 */
export function parseBootstrap(value: string): string {
  const list = bootstrapList(value);
  if (list.length === 0) throw new InvalidArgumentError('expected HOST:PORT[,HOST:PORT...], got an empty list');
  for (const hostPort of list) {
    const colon = hostPort.lastIndexOf(':');
    const port = Number(hostPort.slice(colon + 1));
    if (colon <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new InvalidArgumentError(`expected HOST:PORT[,HOST:PORT...], got "${hostPort}"`);
    }
  }
  return value;
}

export function bootstrapList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Builds a client for one command invocation; the caller closes it. */
export function connect(bootstrap: string): Ferry {
  return new Ferry({ bootstrap: bootstrapList(bootstrap), clientId: 'ferry-cli' });
}

/** Commander parser for a non-negative integer flag value. */
export function parseNonNegativeInt(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 0) {
    throw new InvalidArgumentError(`expected a non-negative integer, got "${value}"`);
  }
  return n;
}

/** Commander parser for a positive integer flag value. */
export function parsePositiveInt(value: string): number {
  const n = parseNonNegativeInt(value);
  if (n === 0) throw new InvalidArgumentError('expected a positive integer, got 0');
  return n;
}

/** Commander parser for a repeatable `k=v` flag: collects into a map (later values win). */
export function collectKeyValue(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`expected KEY=VALUE, got "${value}"`);
  return { ...(previous ?? {}), [value.slice(0, eq)]: value.slice(eq + 1) };
}

/** Duck-typed as well as instanceof: a second copy of the SDK module must still count. */
export function isFerryError(err: unknown): err is FerryError {
  if (err instanceof FerryError) return true;
  return err instanceof Error && err.name === 'FerryError' && typeof (err as { code?: unknown }).code === 'string';
}

/** The one line a failure prints: `ferry: CODE: message` for FerryErrors, `ferry: message` otherwise. */
export function describeError(err: unknown): string {
  if (isFerryError(err)) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * Wraps a command action: runs it, prints a failure as `ferry: ...`, and exits with the action's
 * exit code (0 unless it says otherwise) so open channels cannot keep the process alive.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    let code: number;
    try {
      code = (await fn(...args)) ?? 0;
    } catch (err) {
      process.stderr.write(`ferry: ${describeError(err)}\n`);
      code = 1;
    }
    process.exit(code);
  };
}

/** Closes the client without letting a slow or failing close hide the command's real outcome. */
export async function closeQuietly(ferry: Ferry, timeoutMs = 2000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    ferry.close().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}
