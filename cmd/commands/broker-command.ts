/**
 * `ferry broker`: runs one broker in this process until SIGTERM/SIGINT (clean shutdown: in-flight
 * requests finish, logs are flushed and checkpointed). Every config is also a flag: Kafka's name with
 * dots as dashes (`retention.ms` → `--retention-ms`). Layers: defaults < --config FILE < FERRY_* env
 * < flags.
 */
import { Option, type Command } from 'commander';
import { allConfigDefs, loadBrokerConfig } from '../../src/config/broker-config.js';

export function registerBrokerCommand(program: Command): void {
  const cmd = program
    .command('broker')
    .description('run a Ferry broker (single node by default: 127.0.0.1:9092, data in ./data)')
    .option('--config <file>', 'config file (key=value properties, or .json)');
  const flagToConfig = new Map<string, string>();
  for (const def of allConfigDefs()) {
    const flag = `--${def.name.replace(/\./g, '-')}`;
    const option = new Option(`${flag} <value>`, `${def.doc} (default: ${String(def.default)})`);
    if (def.values) option.choices(def.values as string[]);
    cmd.addOption(option);
    flagToConfig.set(option.attributeName(), def.name);
  }
  cmd.action(async (opts: Record<string, unknown>) => {
    const flags: Record<string, unknown> = {};
    for (const [attr, value] of Object.entries(opts)) {
      const name = flagToConfig.get(attr);
      if (name && value !== undefined) flags[name] = value;
    }
    const config = loadBrokerConfig({ file: (opts.config as string | undefined) ?? process.env.FERRY_CONFIG, env: process.env, flags });
    // Loaded only here so client commands never depend on the server code.
    const { Broker } = await import('../../src/server/broker.js');
    const { createLogger } = await import('../../src/util/logger.js');
    const logger = createLogger(config.str('log.level'), { nodeId: config.nodeId });
    const { applyHeapGrowingPercent } = await import('../../src/server/gc-tuning.js');
    applyHeapGrowingPercent(config.int('gc.heap.growing.percent'), logger);
    process.on('uncaughtException', (err) => {
      logger.fatal({ err }, 'uncaught exception; exiting');
      logger.flush();
      process.exit(1);
    });
    const broker = await Broker.start(config, logger);
    let stopping = false;
    const shutdown = (signal: string): void => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, 'shutdown requested');
      broker.stop().then(
        () => {
          logger.flush();
          process.exit(0);
        },
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          logger.flush();
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
  });
}
