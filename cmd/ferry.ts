#!/usr/bin/env node
/**
 * The `ferry` command: the broker and every client tool in one binary.
 * Each subcommand lives in cmd/commands/<name>.ts and registers itself on the program.
 */
import { Command } from 'commander';
import { registerBrokerCommand } from './commands/broker.js';
import { registerClientCommands } from './commands/index.js';

const program = new Command();
program
  .name('ferry')
  .description('Ferry: a distributed message broker spoken to over gRPC')
  .version('0.1.0')
  .showHelpAfterError();

registerBrokerCommand(program);
registerClientCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`ferry: ${message}\n`);
  process.exit(1);
});
