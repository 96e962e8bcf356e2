/** The broker's structured logger: pino, JSON lines on stderr, level from config (log.level). */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { ...base }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd: 2, sync: false }));
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
