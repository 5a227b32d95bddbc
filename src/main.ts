/** The `ocellus` command line: one parser, each subcommand in src/cli/. */
import { Command } from 'commander';
import { ConfigError } from './config.js';
import { registerServe } from './cli/serve.js';
import { registerPull } from './cli/pull.js';
import { registerModels } from './cli/models.js';
import { registerAsk } from './cli/ask.js';

export function buildCli(): Command {
  const program = new Command('ocellus').description('Self-hosted image understanding behind the Gemini API');
  registerServe(program);
  registerPull(program);
  registerModels(program);
  registerAsk(program);
  return program;
}

buildCli()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    console.error(err instanceof ConfigError ? `ocellus: ${err.message}` : err);
    process.exit(1);
  });
