#!/usr/bin/env node
/**
 * The `ferry` command: the broker and every client tool in one binary.
 * Each subcommand lives in cmd/commands/<name>.ts and registers itself on the program. The broker
 * command loads the server code only when it runs, so client commands never depend on it.
 */
import { Command } from 'commander';
import { registerBrokerCommand } from './commands/broker-command.js';
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
