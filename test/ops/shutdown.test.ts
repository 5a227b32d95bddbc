/**
 * SIGTERM on `ocellus serve` as a user runs it (a child process): a streaming answer and an
 * upload chunk that are in flight both complete, new connections are refused at once, and
 * the process exits 0 once they are done.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readFixture, REPO_ROOT } from '../support/fixtures.js';

interface Served {
  child: ChildProcess;
  port: number;
  exited: Promise<number | null>;
  logs: () => string;
}

/** Starts `ocellus serve` on an ephemeral port and waits for its "listening" log line. */
async function serve(dataDir: string, extra: string[]): Promise<Served> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/main.ts', 'serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'info', ...extra],
    { cwd: REPO_ROOT, env: { ...process.env, OCELLUS_VISION_THREADS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 110_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /"address":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    void exited.then((code) => reject(new Error(`server exited ${code}:\n${out}`)));
  });
  return { child, port, exited, logs: () => out };
}

/** A request on its own connection (no keep-alive pool), collecting the whole answer. */
function request(port: number, opts: http.RequestOptions, body?: (req: http.ClientRequest) => void) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, agent: false, ...opts }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body) body(req);
    else req.end();
  });
}

/** Whether a new TCP connection is accepted. */
const connects = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });

describe('SIGTERM', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('finishes the in-flight streaming answer and upload chunk, refuses new connections, exits 0', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ocellus-sigterm-'));
    dirs.push(dataDir);
    const srv = await serve(dataDir, ['--no-segment', '--no-ocr', '--no-people', '--no-safety', '--shutdown-grace-seconds', '60']);
    try {
      // An upload session, and its one chunk half sent when the signal arrives.
      const file = readFixture('dog.png');
      const start = await request(
        srv.port,
        {
          method: 'POST',
          path: '/upload/v1beta/files',
          headers: {
            'content-type': 'application/json',
            'x-goog-upload-protocol': 'resumable',
            'x-goog-upload-command': 'start',
            'x-goog-upload-header-content-length': String(file.length),
            'x-goog-upload-header-content-type': 'image/png',
          },
        },
        (req) => req.end(JSON.stringify({ file: { displayName: 'drain.png' } })),
      );
      expect(start.status).toBe(200);
      const uploadUrl = new URL(String(start.headers['x-goog-upload-url']));
      let sendRest!: () => void;
      const chunk = request(
        srv.port,
        {
          method: 'POST',
          path: uploadUrl.pathname + uploadUrl.search,
          headers: { 'content-length': String(file.length), 'x-goog-upload-command': 'upload, finalize', 'x-goog-upload-offset': '0' },
        },
        (req) => {
          req.write(file.subarray(0, file.length / 2));
          sendRest = () => req.end(file.subarray(file.length / 2));
        },
      );

      // A streaming answer on a 12-megapixel photo: decoding and detection take a while.
      const photo = readFixture('photo-12mp.jpg').toString('base64');
      const streamed = request(
        srv.port,
        { method: 'POST', path: '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse', headers: { 'content-type': 'application/json' } },
        (req) =>
          req.end(JSON.stringify({ contents: [{ parts: [{ inlineData: { mimeType: 'image/jpeg', data: photo } }, { text: 'Detect all of the prominent items in the image.' }] }] })),
      );
      await new Promise((r) => setTimeout(r, 300)); // both requests are now with the server
      const signalledAt = performance.now();
      srv.child.kill('SIGTERM');
      // New connections are refused at once, while the two requests are still running.
      let refused = false;
      for (let i = 0; i < 40 && !refused; i++) {
        refused = !(await connects(srv.port));
        if (!refused) await new Promise((r) => setTimeout(r, 25));
      }
      expect(refused).toBe(true);
      expect(srv.child.exitCode).toBeNull();
      sendRest();

      const [up, answer] = await Promise.all([chunk, streamed]);
      expect(up.status).toBe(200);
      expect(up.headers['x-goog-upload-status']).toBe('final');
      expect(JSON.parse(up.text)).toMatchObject({ file: { sizeBytes: String(file.length), state: 'ACTIVE' } });
      expect(answer.status).toBe(200);
      const events = answer.text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)) as { candidates?: Array<{ finishReason?: string }> });
      expect(events.length).toBeGreaterThan(0);
      expect(events.at(-1)?.candidates?.[0]?.finishReason).toBe('STOP');
      expect(await srv.exited).toBe(0);
      expect(performance.now() - signalledAt).toBeLessThan(60_000);
      expect(srv.logs()).toMatch(/shutting down/);
    } finally {
      if (srv.child.exitCode === null) srv.child.kill('SIGKILL');
    }
  }, 240_000);
});
