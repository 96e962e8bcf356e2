/**
 * Config as a schema: every setting is declared once with its name (Kafka's where the concept is the
 * same), type, default, validator and doc. Broker settings and topic settings share this shape;
 * topic settings set at broker level are the defaults every topic inherits unless it overrides them.
 */
import { ErrorCode, FerryError } from '../protocol/errors.js';

export type ConfigType = 'int' | 'long' | 'double' | 'string' | 'boolean' | 'enum';

export interface ConfigDef<T = unknown> {
  name: string;
  type: ConfigType;
  default: T;
  doc: string;
  /** For enums: the allowed values. */
  values?: readonly string[];
  min?: number;
  max?: number;
  /** Other spellings accepted on input (e.g. Kafka's broker-level `log.` prefix). */
  aliases?: readonly string[];
}

export type ConfigValue = number | string | boolean;

/** Parses and validates one raw value (from a file, env, flag or an admin request). */
export function parseConfigValue(def: ConfigDef, raw: unknown): ConfigValue {
  const fail = (why: string): never => {
    throw new FerryError(ErrorCode.INVALID_CONFIG, `invalid value ${JSON.stringify(raw)} for ${def.name}: ${why}`);
  };
  switch (def.type) {
    case 'int':
    case 'long': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isInteger(n)) return fail('expected an integer');
      if (def.type === 'int' && (n < -(2 ** 31) || n >= 2 ** 31)) return fail('out of 32-bit range');
      if (!Number.isSafeInteger(n)) return fail('out of range');
      if (def.min !== undefined && n < def.min) return fail(`must be >= ${def.min}`);
      if (def.max !== undefined && n > def.max) return fail(`must be <= ${def.max}`);
      return n;
    }
    case 'double': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isFinite(n)) return fail('expected a number');
      if (def.min !== undefined && n < def.min) return fail(`must be >= ${def.min}`);
      if (def.max !== undefined && n > def.max) return fail(`must be <= ${def.max}`);
      return n;
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true') return true;
      if (raw === 'false') return false;
      return fail('expected true or false');
    }
    case 'enum': {
      const s = String(raw);
      if (!def.values!.includes(s)) return fail(`expected one of ${def.values!.join(', ')}`);
      return s;
    }
    case 'string':
      if (typeof raw !== 'string' && typeof raw !== 'number') return fail('expected a string');
      return String(raw);
  }
}
