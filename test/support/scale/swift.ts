/**
 * A throwaway S3-compatible store: OpenStack Swift (proxy + object + container + account
 * servers, one device each) with the s3api middleware and tempauth, plus the memcached that
 * tempauth needs. Everything lives in a temp dir and listens on loopback; stopped by PID.
 *
 * Pipeline notes (each was seen failing otherwise): tempauth answers 500 without memcached,
 * and s3api refuses multipart uploads unless `slo` is in the pipeline.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort, run, spawnLogged, stopPid, waitUntil } from './processes.js';

export interface S3Endpoint {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** A bucket created at start for the tests to share (each test uses its own prefix). */
  bucket: string;
}

export interface RunningSwift {
  s3: S3Endpoint;
  pids: number[];
  stop(): Promise<void>;
}

const PYTHON = '/usr/bin/python3'; // a python3 earlier on PATH may lack the swift module

/** Three one-device rings built in one Python process (nine swift-ring-builder calls take ~12 s). */
const RINGS = `
import sys
from swift.common.ring import RingBuilder
swift_dir = sys.argv[1]
for name, port in zip(('object', 'container', 'account'), sys.argv[2:5]):
    b = RingBuilder(6, 1, 1)
    b.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': int(port), 'device': 'd1', 'weight': 100, 'meta': ''})
    b.rebalance()
    b.get_ring().save('%s/%s.ring.gz' % (swift_dir, name))
`;

function serverConf(dir: string, port: number, kind: 'object' | 'container' | 'account'): string {
  return `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${port}
devices = ${path.join(dir, 'devices')}
mount_check = false
swift_dir = ${dir}
workers = 0
user = ${process.env.USER ?? 'root'}
log_name = ${kind}-server

[pipeline:main]
pipeline = ${kind}-server

[app:${kind}-server]
use = egg:swift#${kind}
`;
}

function proxyConf(dir: string, port: number, memcachePort: number): string {
  // Section names as the pipeline spells them; proxy-logging's egg entry point has an underscore.
  const filters = ['catch_errors', 'gatekeeper', 'healthcheck', 'proxy-logging', 'listing_formats', 'copy', 'slo', 'dlo', 'versioned_writes']
    .map((f) => `[filter:${f}]\nuse = egg:swift#${f.replace('-', '_')}\n`)
    .join('\n');
  return `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${port}
swift_dir = ${dir}
workers = 0
user = ${process.env.USER ?? 'root'}
log_name = proxy-server

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo versioned_writes proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:s3api]
use = egg:swift#s3api

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:${memcachePort}

${filters}`;
}

export async function startSwift(root: string): Promise<RunningSwift> {
  const dir = path.join(root, 'swift');
  mkdirSync(path.join(dir, 'devices', 'd1'), { recursive: true });
  const [proxyPort, objectPort, containerPort, accountPort, memcachePort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  writeFileSync(
    path.join(dir, 'swift.conf'),
    `[swift-hash]\nswift_hash_path_suffix = ocellus-test\nswift_hash_path_prefix = ocellus-test\n\n[storage-policy:0]\nname = Policy-0\ndefault = yes\n`,
  );
  const ports = { object: objectPort!, container: containerPort!, account: accountPort! };
  for (const kind of ['object', 'container', 'account'] as const)
    writeFileSync(path.join(dir, `${kind}-server.conf`), serverConf(dir, ports[kind], kind));
  writeFileSync(path.join(dir, 'proxy-server.conf'), proxyConf(dir, proxyPort!, memcachePort!));
  writeFileSync(path.join(dir, 'rings.py'), RINGS);
  await run(PYTHON, [path.join(dir, 'rings.py'), dir, String(objectPort), String(containerPort), String(accountPort)]);

  const log = path.join(root, 'swift.log');
  const pids: number[] = [];
  const memcachedUser = process.getuid?.() === 0 ? ['-u', 'nobody'] : [];
  pids.push(spawnLogged('/usr/bin/memcached', ['-l', '127.0.0.1', '-p', String(memcachePort), '-U', '0', ...memcachedUser], log).pid!);
  for (const kind of ['object', 'container', 'account', 'proxy'] as const)
    pids.push(spawnLogged(PYTHON, [`/usr/bin/swift-${kind}-server`, path.join(dir, `${kind}-server.conf`), '-v'], log).pid!);
  const stop = async () => {
    await Promise.all(pids.map((pid) => stopPid(pid)));
  };

  const s3: S3Endpoint = {
    endpoint: `http://127.0.0.1:${proxyPort}`,
    region: 'us-east-1',
    accessKeyId: 'test:tester',
    secretAccessKey: 'testing',
    bucket: 'ocellus-test',
  };
  const client = s3Client(s3);
  try {
    // Ready when a bucket can be created and seen: that goes through every server.
    await waitUntil(
      'Swift (s3api)',
      async () => {
        await client.send(new CreateBucketCommand({ Bucket: s3.bucket })).catch((err: { name?: string }) => {
          if (err.name !== 'BucketAlreadyOwnedByYou' && err.name !== 'BucketAlreadyExists') throw err;
        });
        await client.send(new HeadBucketCommand({ Bucket: s3.bucket }));
        return true;
      },
      60_000,
      log,
    );
  } catch (err) {
    await stop();
    throw err;
  } finally {
    client.destroy();
  }
  return { s3, pids, stop };
}

export function s3Client(s3: Omit<S3Endpoint, 'bucket'>): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    // Swift's s3api refuses the SDK's default aws-chunked streaming checksums.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
