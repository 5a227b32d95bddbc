/**
 * `ocellus keys create|list|revoke`: API keys in the server's key store (the data dir's
 * keys.sqlite, which the server reads). The new key is printed once, on stdout alone, so
 * `KEY=$(ocellus keys create --name ci)` captures it; only its hash is kept.
 */
import { Command, Option } from 'commander';
import { loadConfig, type ConfigFlags } from '../config.js';
import { createKey } from '../keys/admin.js';
import { openSqliteKeyStore } from '../keys/sqlite.js';
import { openPostgresKeyStore } from '../keys/postgres.js';
import { openDatabase } from '../db/database.js';
import { pino } from 'pino';
import type { KeyStore, StoredKey } from '../keys/store.js';
import { typedFlags } from './serve.js';

interface KeysFlags extends ConfigFlags {
  name?: string;
  rpm?: string;
  storageBytes?: string;
  json?: boolean;
}

const dataDirOption = () => new Option('--data-dir <dir>', 'the server\'s data dir, where keys.sqlite lives (OCELLUS_DATA_DIR, default ./data)');
const databaseOption = () => new Option('--database-url <url>', 'the replicas\' shared PostgreSQL, where their keys live (OCELLUS_DATABASE_URL)');

const whole = (flag: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v.trim()) || Number(v) <= 0) throw new Error(`${flag} must be a positive whole number, not ${JSON.stringify(v)}`);
  return Number(v);
};

/** The store the server uses: the shared database with --database-url, else the data dir's SQLite. */
async function withStore<T>(command: Command, fn: (store: KeyStore) => Promise<T>): Promise<T> {
  const config = loadConfig(typedFlags<ConfigFlags>(command));
  if (config.scale.databaseUrl) {
    const database = await openDatabase(config.scale.databaseUrl, pino({ level: 'warn' }, pino.destination(2)));
    try {
      return await fn(await openPostgresKeyStore(database.pool));
    } finally {
      await database.close();
    }
  }
  const store = openSqliteKeyStore(config.dataDir);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

const iso = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString());
const row = (k: StoredKey) =>
  [k.id, k.name, `${k.prefix}…`, k.rpm ?? '-', k.storageBytes ?? '-', iso(k.createdAt), k.revokedAt ? `revoked ${iso(k.revokedAt)}` : 'active'].join('\t');

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('create, list and revoke API keys (stored hashed in the data dir)');
  keys
    .command('create')
    .description('make a new key and print it once')
    .requiredOption('--name <name>', 'a name to tell the key by (unique among live keys)')
    .option('--rpm <n>', 'requests per minute for this key')
    .option('--storage-bytes <n>', 'file storage for this key, bytes')
    .addOption(dataDirOption())
    .addOption(databaseOption())
    .action(async (flags: KeysFlags, command: Command) => {
      const rpm = whole('--rpm', flags.rpm);
      const storageBytes = whole('--storage-bytes', flags.storageBytes);
      const { key, record } = await withStore(command, (store) => createKey(store, { name: flags.name ?? '', rpm, storageBytes }));
      process.stdout.write(`${key}\n`);
      process.stderr.write(`created ${record.id} (${record.name}); this is the only time the key is shown\n`);
    });
  keys
    .command('list')
    .description('list keys (never the keys themselves)')
    .option('--json', 'as JSON')
    .addOption(dataDirOption())
    .addOption(databaseOption())
    .action(async (flags: KeysFlags, command: Command) => {
      const list = await withStore(command, (store) => store.list());
      if (flags.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      else process.stdout.write(['id\tname\tprefix\trpm\tstorage_bytes\tcreated\tstate', ...list.map(row)].join('\n') + '\n');
    });
  keys
    .command('revoke')
    .description('revoke a key by id or name; servers refuse it within a second')
    .argument('<id-or-name>')
    .addOption(dataDirOption())
    .addOption(databaseOption())
    .action(async (idOrName: string, _flags: KeysFlags, command: Command) => {
      const revoked = await withStore(command, (store) => store.revoke(idOrName, Date.now()));
      if (!revoked) throw new Error(`no live key with id or name ${JSON.stringify(idOrName)}`);
      process.stdout.write(`revoked ${revoked.id} (${revoked.name})\n`);
    });
}
