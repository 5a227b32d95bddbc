/** Helpers of the operations tests: the CLI as a child process, servers on a chosen data dir. */
import { spawn } from 'node:child_process';
import type { DestinationStream } from 'pino';
import { loadConfig, type ConfigFlags } from '../../src/config.js';
import { createServer, type OcellusServer } from '../../src/server/create-server.js';
import { REPO_ROOT } from '../support/fixtures.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `ocellus ARGS…` as a user runs it (node + tsx on src/main.ts). */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The real server (measurements engine, no models) on `dataDir`, listening on 127.0.0.1. */
export async function startOn(
  dataDir: string,
  flags: ConfigFlags = {},
  opts: { env?: Record<string, string>; logDestination?: DestinationStream } = {},
): Promise<{ baseUrl: string; server: OcellusServer }> {
  const config = loadConfig({ port: 0, host: '127.0.0.1', dataDir, logLevel: 'silent', engine: 'measurements', ...flags }, opts.env ?? {});
  const server = await createServer(config, opts.logDestination ? { logDestination: opts.logDestination } : {});
  const address = await server.listen();
  return { baseUrl: `http://127.0.0.1:${new URL(address).port}`, server };
}
