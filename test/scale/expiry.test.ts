/**
 * Expiry across replicas: two `ocellus serve` processes share PostgreSQL and S3 with a file
 * TTL of seconds and a sweep every second. The expired file disappears from PostgreSQL and
 * from the store, swept by exactly one of them (the sweep lease), and nothing of its upload
 * is left in the bucket.
 */
import { randomBytes } from 'node:crypto';
import { HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { GoogleGenAI } from 'genai3';
import pg from 'pg';
import sharp from 'sharp';
import { afterAll, expect, it } from 'vitest';
import { freshDatabase, freshPrefix, scaleServers } from '../support/scale/context.js';
import { s3Client } from '../support/scale/swift.js';
import { startReplica, storageUrlOf, type Replica } from './replica.js';

const KEY = 'expiry-test-key';
const TTL_HOURS = 0.002; // 7.2 s
const replicas: Replica[] = [];

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
});

/** Sum of the `swept.files` counts a replica logged. */
const sweptFiles = (r: Replica): number =>
  r
    .logs()
    .split('\n')
    .filter((l) => l.includes('"msg":"files swept"'))
    .reduce((n, l) => n + ((JSON.parse(l) as { swept: { files: number } }).swept.files ?? 0), 0);

it('an expired file is swept from PostgreSQL and S3 once, by one replica', async () => {
  const { s3, redisUrl } = scaleServers();
  const prefix = freshPrefix('expiry');
  const shared = { databaseUrl: await freshDatabase('expiry'), storageUrl: storageUrlOf(s3, prefix), redisUrl, s3 };
  const extra = ['--api-key', KEY, '--file-ttl-hours', String(TTL_HOURS), '--sweep-interval-ms', '1000'];
  replicas.push(...(await Promise.all(['x', 'y'].map((n) => startReplica(n, shared, extra)))));
  const [X, Y] = replicas as [Replica, Replica];

  const png = await sharp(randomBytes(64 * 48 * 3), { raw: { width: 64, height: 48, channels: 3 } }).png().toBuffer();
  const ai = new GoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl: X.baseUrl } });
  const file = await ai.files.upload({ file: new Blob([png], { type: 'image/png' }), config: { mimeType: 'image/png' } });
  const id = file.name!.replace(/^files\//, '');

  const db = new pg.Client({ connectionString: shared.databaseUrl });
  await db.connect();
  const client = s3Client(s3);
  try {
    const { rows } = await db.query<{ blob_key: string }>('SELECT blob_key FROM files WHERE id = $1', [id]);
    const objectKey = `${prefix}/blobs/${rows[0]!.blob_key}`;
    expect((await client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: objectKey }))).ContentLength).toBe(png.length);

    // Gone from the database within the TTL plus a few sweeps.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (await db.query('SELECT 1 FROM files WHERE id = $1', [id])).rowCount! > 0)
      await new Promise((r) => setTimeout(r, 500));
    expect((await db.query('SELECT 1 FROM files WHERE id = $1', [id])).rowCount).toBe(0);
    await expect(client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: objectKey }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
    // Y never saw the file, yet may be the one that swept it; together they swept it once.
    await new Promise((r) => setTimeout(r, 2500)); // a few more sweeps on both
    expect(sweptFiles(X) + sweptFiles(Y)).toBe(1);
    // Expired for the API too, on both replicas.
    for (const r of [X, Y]) expect((await fetch(`${r.baseUrl}/v1beta/files/${id}`, { headers: { 'x-goog-api-key': KEY } })).status).toBe(403);
    // No staging object of the upload is left.
    const left = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}/uploads/` }));
    expect(left.Contents ?? []).toEqual([]);
  } finally {
    client.destroy();
    await db.end();
  }
}, 240_000);
