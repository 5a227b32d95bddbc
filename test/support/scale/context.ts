/**
 * What the scale servers' globalSetup hands the tests, and helpers that give each test file
 * its own database (CREATE DATABASE is cheap) and its own key prefix in the shared bucket.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import type { S3Endpoint } from './swift.js';

export interface ScaleServers {
  /** `postgres://…/postgres` of the run's cluster (superuser, trust auth on loopback). */
  postgresUrl: string;
  redisUrl: string;
  s3: S3Endpoint;
  /** How long installing (if needed) and starting all three took. */
  startMs: number;
}

declare module 'vitest' {
  export interface ProvidedContext {
    scale: ScaleServers | undefined;
  }
}

export function scaleServers(): ScaleServers {
  const servers = inject('scale');
  if (!servers) throw new Error('the scale servers were not started (test/support/scale/global-setup.ts must be a globalSetup entry)');
  return servers;
}

/** A new, empty database on the run's cluster; its URL. */
export async function freshDatabase(label: string): Promise<string> {
  const { postgresUrl } = scaleServers();
  const name = `${label.replace(/\W/g, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A unique key prefix in the run's bucket, so test files never see each other's objects. */
export function freshPrefix(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}
