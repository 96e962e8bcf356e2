/** Client-side subcommands (topic, produce, consume, group). The broker command registers separately. */
import type { Command } from 'commander';
import { registerConsumeCommand } from './consume.js';
import { registerGroupCommand } from './group.js';
import { registerProduceCommand } from './produce.js';
import { registerTopicCommand } from './topic.js';

export function registerClientCommands(program: Command): void {
  registerTopicCommand(program);
  registerProduceCommand(program);
  registerConsumeCommand(program);
  registerGroupCommand(program);
}
