/**
 * Addresses on the scale servers, for tests and the bench alike (no vitest imports): a new
 * empty database on a PostgreSQL cluster, and the `--storage-url` of a prefix in the S3 bucket.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { S3Endpoint } from './swift.js';

/** CREATE DATABASE (cheap) with a unique name from `label`; the new database's URL. */
export async function createDatabase(postgresUrl: string, label: string): Promise<string> {
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

/** Ocellus's `--storage-url` for `prefix` in the bucket. */
export const storageUrlOf = (s3: S3Endpoint, prefix: string): string =>
  `s3://${s3.bucket}/${prefix}?endpoint=${encodeURIComponent(s3.endpoint)}&region=${s3.region}&force_path_style=true`;
