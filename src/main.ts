/** The `ocellus` command line: `ocellus serve [flags]`. */
import { Command, Option } from 'commander';
import { ConfigError, loadConfig, type ConfigFlags } from './config.js';
import { createServer } from './server/create-server.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function buildCli(): Command {
  const program = new Command('ocellus').description('Self-hosted image understanding behind the Gemini API');

  program
    .command('serve')
    .description('start the HTTP server')
    .addOption(new Option('--port <n>', 'port to listen on (OCELLUS_PORT, default 8080)'))
    .addOption(new Option('--host <addr>', 'address to bind (OCELLUS_HOST, default 127.0.0.1)'))
    .addOption(new Option('--data-dir <dir>', 'where files and metadata live (OCELLUS_DATA_DIR, default ./data)'))
    .addOption(new Option('--public-url <url>', 'externally visible base URL, for upload URLs and file URIs (OCELLUS_PUBLIC_URL)'))
    .addOption(new Option('--api-key <key>', 'accept this API key; repeatable (OCELLUS_API_KEYS=k1,k2). None: open').argParser(collect))
    .addOption(new Option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (OCELLUS_LOG_LEVEL)'))
    .addOption(new Option('--max-request-bytes <n>', 'largest JSON request body (OCELLUS_MAX_REQUEST_BYTES, default 20 MiB)'))
    .addOption(new Option('--max-file-bytes <n>', 'largest uploaded file (OCELLUS_MAX_FILE_BYTES, default 2 GiB)'))
    .addOption(new Option('--max-project-bytes <n>', 'file storage per API key (OCELLUS_MAX_PROJECT_BYTES, default 20 GiB)'))
    .addOption(new Option('--max-images <n>', 'images per request (OCELLUS_MAX_IMAGES, default 3600)'))
    .addOption(new Option('--max-pixels <n>', 'pixels per image, the decompression-bomb guard (OCELLUS_MAX_PIXELS, default 100000000)'))
    .addOption(new Option('--file-ttl-hours <h>', 'how long uploaded files live (OCELLUS_FILE_TTL_HOURS, default 48)'))
    .action(async (flags: ConfigFlags) => {
      const config = loadConfig(flags);
      const server = await createServer(config);
      const address = await server.listen();
      server.app.log.info({ address, dataDir: config.dataDir }, `Ocellus listening on ${address}`);
      const shutdown = (signal: string) => {
        server.app.log.info({ signal }, 'shutting down: finishing in-flight requests');
        void server.close().then(() => process.exit(0));
      };
      process.once('SIGINT', () => shutdown('SIGINT'));
      process.once('SIGTERM', () => shutdown('SIGTERM'));
    });

  return program;
}

buildCli()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    console.error(err instanceof ConfigError ? `ocellus: ${err.message}` : err);
    process.exit(1);
  });
