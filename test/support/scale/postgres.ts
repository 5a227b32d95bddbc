/**
 * A throwaway PostgreSQL 15 cluster: initdb into a temp dir owned by `postgres` (initdb
 * refuses root), the postmaster started as that user on a loopback port with durability off
 * (a test cluster needs no fsync), stopped by PID with a fast shutdown (SIGINT).
 */
import { chmodSync, chownSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { PG_BIN } from './install.js';
import { freePort, run, spawnLogged, stopPid, waitUntil } from './processes.js';

export interface RunningPostgres {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (trust auth on loopback). */
  url: string;
  pid: number;
  stop(): Promise<void>;
}

function systemUser(name: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`no ${name} user (is postgresql-15 installed?)`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

export async function startPostgres(root: string): Promise<RunningPostgres> {
  const dir = path.join(root, 'pg');
  const data = path.join(dir, 'data');
  mkdirSync(data, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? systemUser('postgres') : undefined;
  if (user) {
    chmodSync(root, 0o711); // mkdtemp makes it 0700: postgres must be able to pass through it
    chownSync(dir, user.uid, user.gid);
    chownSync(data, user.uid, user.gid);
  }
  const as = user ? { uid: user.uid, gid: user.gid } : {};
  await run(`${PG_BIN}/initdb`, ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8'], {
    ...as,
    cwd: dir,
  });
  const port = await freePort();
  const log = path.join(root, 'postgres.log');
  const child = spawnLogged(
    `${PG_BIN}/postgres`,
    ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'],
    log,
    { ...as, cwd: dir },
  );
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await waitUntil(
    'PostgreSQL',
    async () => {
      const client = new pg.Client({ connectionString: url });
      try {
        await client.connect();
        await client.query('SELECT 1');
        return true;
      } finally {
        await client.end().catch(() => {});
      }
    },
    20_000,
    log,
  );
  const pid = child.pid!;
  return { url, pid, stop: () => stopPid(pid, 'SIGINT') };
}
