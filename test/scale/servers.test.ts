/**
 * The scale servers the run started are real and answer: PostgreSQL 15 runs SQL, Redis 7
 * counts, and Swift's S3 API stores, reads, lists parts of and aborts a multipart upload.
 */
import { AbortMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, ListPartsCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { freshPrefix, scaleServers } from '../support/scale/context.js';
import { s3Client } from '../support/scale/swift.js';

describe('scale servers', () => {
  it('PostgreSQL 15 answers SQL', async () => {
    console.log(`scale servers started in ${scaleServers().startMs} ms`);
    const client = new pg.Client({ connectionString: scaleServers().postgresUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
      expect(rows[0]!.v).toMatch(/^15\./);
    } finally {
      await client.end();
    }
  });

  it('Redis 7 counts', async () => {
    const redis = new Redis(scaleServers().redisUrl);
    try {
      const info = await redis.info('server');
      expect(info).toMatch(/redis_version:7\./);
      const key = freshPrefix('health');
      expect(await redis.incr(key)).toBe(1);
      expect(await redis.incr(key)).toBe(2);
      await redis.del(key);
    } finally {
      redis.disconnect();
    }
  });

  it('Swift answers S3: put, get, multipart part listing and abort', async () => {
    const { s3 } = scaleServers();
    const client = s3Client(s3);
    const key = `${freshPrefix('health')}/object`;
    try {
      await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: 'hello swift' }));
      const got = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
      expect(await got.Body!.transformToString()).toBe('hello swift');
      await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key }));

      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key: key }));
      await client.send(new UploadPartCommand({ Bucket: s3.bucket, Key: key, UploadId, PartNumber: 1, Body: Buffer.alloc(1024, 7) }));
      const parts = await client.send(new ListPartsCommand({ Bucket: s3.bucket, Key: key, UploadId }));
      expect(parts.Parts?.map((p) => [p.PartNumber, p.Size])).toEqual([[1, 1024]]);
      await client.send(new AbortMultipartUploadCommand({ Bucket: s3.bucket, Key: key, UploadId }));
    } finally {
      client.destroy();
    }
  });
});
