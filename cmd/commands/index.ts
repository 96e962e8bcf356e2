/** Client-side subcommands (topic, produce, consume, ...). The broker command registers separately. */
import type { Command } from 'commander';

export function registerClientCommands(program: Command): void {
  void program;
}
