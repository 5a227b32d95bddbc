/** A throwaway Redis 7 on a loopback port: no persistence, working dir in the temp dir, stopped by PID. */
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort, spawnLogged, stopPid, waitUntil } from './processes.js';

export interface RunningRedis {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** PING over a raw socket, so the readiness check needs no client library. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setTimeout(1000, () => socket.destroy(new Error('timeout')));
    socket.on('error', reject);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      socket.end();
      resolve(d.toString().startsWith('+PONG'));
    });
  });
}

export async function startRedis(root: string): Promise<RunningRedis> {
  const dir = path.join(root, 'redis');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const log = path.join(root, 'redis.log');
  const child = spawnLogged(
    '/usr/bin/redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir],
    log,
  );
  await waitUntil('Redis', () => ping(port), 10_000, log);
  const pid = child.pid!;
  return { url: `redis://127.0.0.1:${port}`, pid, stop: () => stopPid(pid) };
}
