/**
 * What the scale servers' globalSetup hands the tests, and helpers that give each test file
 * its own database (CREATE DATABASE is cheap) and its own key prefix in the shared bucket.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import type { S3Endpoint } from './swift.js';
import { createDatabase } from './databases.js';

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
  return createDatabase(scaleServers().postgresUrl, label);
}

/** A unique key prefix in the run's bucket, so test files never see each other's objects. */
export function freshPrefix(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}
