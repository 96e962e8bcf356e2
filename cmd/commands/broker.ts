/** `ferry broker`: runs one broker process. */
import type { Command } from 'commander';

export function registerBrokerCommand(program: Command): void {
  program.command('broker').description('run a Ferry broker').action(() => {
    throw new Error('not built yet');
  });
}
