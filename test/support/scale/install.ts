/**
 * Installs the Debian packages of the scale servers when they are missing (a fresh CI
 * machine): PostgreSQL 15, Redis 7, OpenStack Swift with memcached. Installing happens once
 * per machine; a warm machine only checks that the binaries exist.
 */
import { existsSync } from 'node:fs';
import { run } from './processes.js';

export const PG_BIN = '/usr/lib/postgresql/15/bin';

const NEEDED: Array<{ binary: string; packages: string[] }> = [
  { binary: `${PG_BIN}/postgres`, packages: ['postgresql-15'] },
  { binary: '/usr/bin/redis-server', packages: ['redis-server'] },
  { binary: '/usr/bin/memcached', packages: ['memcached'] },
  {
    binary: '/usr/bin/swift-proxy-server',
    packages: ['swift-proxy', 'swift-object', 'swift-container', 'swift-account'],
  },
];

/** Resolves once every server binary exists, installing the missing packages with apt-get. */
export async function ensureInstalled(): Promise<void> {
  const missing = NEEDED.filter((n) => !existsSync(n.binary)).flatMap((n) => n.packages);
  if (missing.length === 0) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Another apt run (a colleague, unattended upgrades) may hold the lock: wait for it.
  const apt = ['-o', 'DPkg::Lock::Timeout=300', '-y', '-q', '--no-install-recommends', 'install', ...missing];
  try {
    await run('apt-get', apt, { env });
  } catch {
    // A fresh machine has no package lists yet.
    await run('apt-get', ['-o', 'DPkg::Lock::Timeout=300', '-q', 'update'], { env });
    await run('apt-get', apt, { env });
  }
  const still = NEEDED.filter((n) => !existsSync(n.binary));
  if (still.length > 0) throw new Error(`installed ${missing.join(' ')} but ${still.map((s) => s.binary).join(', ')} is still missing`);
}
