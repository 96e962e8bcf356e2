/**
 * The broker's effective configuration, layered: defaults < config file < FERRY_* environment <
 * command-line flags. Every key is validated against the schema at start-up; an unknown key or a bad
 * value stops the broker with INVALID_CONFIG before anything is opened.
 *
 * File format: Java-properties style (`key=value`, `#` comments) or JSON (`{"key": value}`) when the
 * file name ends in .json. Environment: `FERRY_NUM_PARTITIONS=3` sets `num.partitions`.
 */
import { readFileSync } from 'node:fs';
import { ErrorCode, FerryError } from '../protocol/errors.js';
import { BROKER_CONFIGS } from './broker-configs.js';
import { parseConfigValue, type ConfigDef, type ConfigValue } from './config-def.js';
import { TOPIC_CONFIGS, TOPIC_CONFIG_BY_NAME } from './topic-configs.js';

export type ConfigLayer = 'default' | 'file' | 'env' | 'flag';

const ALL_DEFS: readonly ConfigDef[] = [...BROKER_CONFIGS, ...TOPIC_CONFIGS];
const DEF_BY_NAME = new Map<string, ConfigDef>();
for (const def of ALL_DEFS) {
  DEF_BY_NAME.set(def.name, def);
  for (const alias of def.aliases ?? []) DEF_BY_NAME.set(alias, def);
}

export function allConfigDefs(): readonly ConfigDef[] {
  return ALL_DEFS;
}

export function findConfigDef(name: string): ConfigDef | undefined {
  return DEF_BY_NAME.get(name);
}

export class BrokerConfig {
  private readonly values = new Map<string, ConfigValue>();
  private readonly layers = new Map<string, ConfigLayer>();

  constructor() {
    for (const def of ALL_DEFS) {
      this.values.set(def.name, def.default as ConfigValue);
      this.layers.set(def.name, 'default');
    }
  }

  /** Sets `name` (or an alias) from a raw value; throws FerryError(INVALID_CONFIG). */
  set(name: string, raw: unknown, layer: ConfigLayer): void {
    const def = DEF_BY_NAME.get(name);
    if (!def) throw new FerryError(ErrorCode.INVALID_CONFIG, `unknown config ${name}`);
    this.values.set(def.name, parseConfigValue(def, raw));
    this.layers.set(def.name, layer);
  }

  get(name: string): ConfigValue {
    const v = this.values.get(name);
    if (v === undefined) throw new Error(`config ${name} is not declared`);
    return v;
  }

  int(name: string): number {
    return this.get(name) as number;
  }

  str(name: string): string {
    return this.get(name) as string;
  }

  bool(name: string): boolean {
    return this.get(name) as boolean;
  }

  layerOf(name: string): ConfigLayer {
    return this.layers.get(name) ?? 'default';
  }

  /** Broker-level values of the topic settings: the defaults every topic inherits. */
  topicDefaults(): Map<string, ConfigValue> {
    const out = new Map<string, ConfigValue>();
    for (const def of TOPIC_CONFIGS) out.set(def.name, this.get(def.name));
    return out;
  }

  /** Everything worth logging at start-up: name → value, with the layer that set it. */
  describe(): Record<string, { value: ConfigValue; source: ConfigLayer }> {
    const out: Record<string, { value: ConfigValue; source: ConfigLayer }> = {};
    for (const def of ALL_DEFS) out[def.name] = { value: this.get(def.name), source: this.layerOf(def.name) };
    return out;
  }

  get nodeId(): number {
    return this.int('node.id');
  }
  get dataDir(): string {
    return this.str('data.dir');
  }
  get host(): string {
    return this.str('host');
  }
  get port(): number {
    return this.int('port');
  }
  get advertisedHost(): string {
    const explicit = this.str('advertised.host');
    if (explicit) return explicit;
    const host = this.host;
    return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  }
}

export function parsePropertiesFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const eq = line.search(/[=:]/);
    if (eq <= 0) throw new FerryError(ErrorCode.INVALID_CONFIG, `config file line is not key=value: ${line}`);
    out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

export interface ConfigSources {
  /** Path of a config file, if any. */
  file?: string | undefined;
  /** Usually process.env. */
  env?: NodeJS.ProcessEnv;
  /** Flag values keyed by config name (dots), already mapped from --dashed-names. */
  flags?: Record<string, unknown>;
}

const ENV_PREFIX = 'FERRY_';
/** FERRY_* variables that are not broker configs (read by the CLI's client commands). */
const CLIENT_ENV_VARS = new Set(['FERRY_BOOTSTRAP', 'FERRY_CONFIG']);

export function loadBrokerConfig(sources: ConfigSources): BrokerConfig {
  const config = new BrokerConfig();
  if (sources.file) {
    let text: string;
    try {
      text = readFileSync(sources.file, 'utf8');
    } catch (err) {
      throw new FerryError(ErrorCode.INVALID_CONFIG, `cannot read config file ${sources.file}: ${(err as Error).message}`);
    }
    const entries: Record<string, unknown> = sources.file.endsWith('.json') ? JSON.parse(text) : parsePropertiesFile(text);
    for (const [k, v] of Object.entries(entries)) config.set(k, v, 'file');
  }
  for (const [k, v] of Object.entries(sources.env ?? {})) {
    if (!k.startsWith(ENV_PREFIX) || v === undefined || CLIENT_ENV_VARS.has(k)) continue;
    const name = k.slice(ENV_PREFIX.length).toLowerCase().replace(/_/g, '.');
    config.set(name, v, 'env');
  }
  for (const [k, v] of Object.entries(sources.flags ?? {})) {
    if (v !== undefined) config.set(k, v, 'flag');
  }
  return config;
}

/** Topic overrides validated against the topic schema (create / alter). Unknown names are rejected. */
export function validateTopicConfigs(overrides: Record<string, string>): Map<string, ConfigValue> {
  const out = new Map<string, ConfigValue>();
  for (const [name, raw] of Object.entries(overrides)) {
    const def = TOPIC_CONFIG_BY_NAME.get(name);
    if (!def) throw new FerryError(ErrorCode.INVALID_CONFIG, `unknown topic config ${name}`);
    out.set(name, parseConfigValue(def, raw));
  }
  return out;
}
