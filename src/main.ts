/** The `ocellus` command line: one parser, each subcommand in src/cli/. */
import { Command } from 'commander';
import { registerServe } from './cli/serve.js';
import { registerPull } from './cli/pull.js';
import { registerModels } from './cli/models.js';
import { registerAsk } from './cli/ask.js';
import { registerLabel } from './cli/label.js';
import { registerKeys } from './cli/keys.js';
import { describeFailure } from './cli/failure.js';

export function buildCli(): Command {
  const program = new Command('ocellus').description('Self-hosted image understanding behind the Gemini API');
  registerServe(program);
  registerPull(program);
  registerModels(program);
  registerAsk(program);
  registerLabel(program);
  registerKeys(program);
  return program;
}

buildCli()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    console.error(describeFailure(err).line);
    process.exit(1);
  });
