/**
 * A Hugging Face hub stand-in on 127.0.0.1, speaking the protocol `ocellus pull` relies on:
 * the revision API, the recursive tree API (git blob ids, `lfs: { oid: sha256, size }`,
 * optional paging with a Link header), `resolve/{revision}/{path}` answering small files
 * itself and LFS files with a 302 to a CDN-like path on which Range requests get 206, and
 * the hub's error answers (404 + X-Error-Code, 401 for gated repos without a token).
 * Faults are injected per file: drop the connection after N bytes, or serve wrong bytes.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MockFile {
  content: Buffer;
  lfs: boolean;
}

export interface MockRepo {
  commit: string;
  files: Record<string, MockFile>;
  /** Needs `Authorization: Bearer <token>`; 401 GatedRepo without it. */
  token?: string;
}

export interface Fault {
  /** Close the socket after sending this many body bytes (once per arming). */
  dropAfter?: number;
  /** Serve these bytes instead of the real ones (checksum mismatch). */
  corrupt?: boolean;
}

export interface SeenRequest {
  method: string;
  url: string;
  range?: string;
  authorization?: string;
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
export const gitOid = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

export interface MockHub {
  url: string;
  repos: Map<string, MockRepo>;
  faults: Map<string, Fault>;
  requests: SeenRequest[];
  /** Tree entries per page (0: no paging). */
  pageSize: number;
  close(): Promise<void>;
}

export async function startMockHub(repos: Record<string, MockRepo>): Promise<MockHub> {
  const hub: Omit<MockHub, 'url' | 'close'> = { repos: new Map(Object.entries(repos)), faults: new Map(), requests: [], pageSize: 0 };
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    hub.requests.push({
      method: req.method ?? 'GET',
      url: u.pathname + u.search,
      ...(req.headers.range ? { range: req.headers.range } : {}),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    });
    const fail = (status: number, code: string, message: string) => {
      res.writeHead(status, { 'content-type': 'application/json', 'x-error-code': code, 'x-error-message': message });
      res.end(JSON.stringify({ error: message }));
    };
    const repoOf = (owner: string, name: string): MockRepo | undefined => {
      const repo = hub.repos.get(`${owner}/${name}`);
      if (!repo) {
        fail(404, 'RepoNotFound', 'Repository not found');
        return undefined;
      }
      if (repo.token && req.headers.authorization !== `Bearer ${repo.token}`) {
        fail(401, 'GatedRepo', 'Access to this model is restricted. You must have access to it and be authenticated to access it.');
        return undefined;
      }
      return repo;
    };
    const revOk = (repo: MockRepo, rev: string) => {
      if (rev === 'main' || rev === repo.commit) return true;
      fail(404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
      return false;
    };
    let m: RegExpExecArray | null;
    if ((m = /^\/api\/models\/([^/]+)\/([^/]+)\/revision\/([^/]+)$/.exec(u.pathname))) {
      const repo = repoOf(m[1]!, m[2]!);
      if (!repo || !revOk(repo, decodeURIComponent(m[3]!))) return;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: `${m[1]}/${m[2]}`, sha: repo.commit, siblings: Object.keys(repo.files).map((rfilename) => ({ rfilename })) }));
      return;
    }
    if ((m = /^\/api\/models\/([^/]+)\/([^/]+)\/tree\/([^/]+)$/.exec(u.pathname))) {
      const repo = repoOf(m[1]!, m[2]!);
      if (!repo || !revOk(repo, decodeURIComponent(m[3]!))) return;
      const entries: unknown[] = [];
      const dirs = new Set<string>();
      for (const [p, f] of Object.entries(repo.files)) {
        const parts = p.split('/');
        for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
        entries.push({
          type: 'file',
          oid: f.lfs ? gitOid(Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(f.content)}\nsize ${f.content.length}\n`)) : gitOid(f.content),
          size: f.content.length,
          path: p,
          ...(f.lfs ? { lfs: { oid: sha256(f.content), size: f.content.length, pointerSize: 134 } } : {}),
        });
      }
      for (const d of dirs) entries.push({ type: 'directory', oid: 'd'.repeat(40), size: 0, path: d });
      const cursor = Number(u.searchParams.get('cursor') ?? 0);
      const page = hub.pageSize ? entries.slice(cursor, cursor + hub.pageSize) : entries;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (hub.pageSize && cursor + hub.pageSize < entries.length)
        headers.link = `<${u.pathname}?recursive=true&cursor=${cursor + hub.pageSize}>; rel="next"`;
      res.writeHead(200, headers);
      res.end(JSON.stringify(page));
      return;
    }
    if ((m = /^\/([^/]+)\/([^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(u.pathname))) {
      const repo = repoOf(m[1]!, m[2]!);
      if (!repo || !revOk(repo, decodeURIComponent(m[3]!))) return;
      const file = decodeURIComponent(m[4]!);
      const f = repo.files[file];
      if (!f) return fail(404, 'EntryNotFound', `${file} does not exist`);
      if (f.lfs) {
        // As the real hub does: LFS content lives elsewhere, behind a signed URL.
        res.writeHead(302, { location: `/cdn-lfs/${sha256(f.content)}?repo=${m[1]}%2F${m[2]}&file=${encodeURIComponent(file)}&sig=abc`, 'x-repo-commit': repo.commit });
        res.end();
        return;
      }
      return serveBytes(req, res, f.content, `${m[1]}/${m[2]}/${file}`, { 'x-repo-commit': repo.commit });
    }
    if ((m = /^\/cdn-lfs\/([0-9a-f]{64})$/.exec(u.pathname))) {
      const repoId = u.searchParams.get('repo') ?? '';
      const file = u.searchParams.get('file') ?? '';
      const f = hub.repos.get(repoId)?.files[file];
      if (!f || sha256(f.content) !== m[1]) return fail(404, 'EntryNotFound', 'no such object');
      return serveBytes(req, res, f.content, `${repoId}/${file}`, {});
    }
    fail(404, 'NotFound', `no route ${u.pathname}`);
  });

  function serveBytes(req: http.IncomingMessage, res: http.ServerResponse, content: Buffer, key: string, headers: Record<string, string>): void {
    const fault = hub.faults.get(key);
    let body = content;
    if (fault?.corrupt) {
      body = Buffer.from(content);
      body[0] = body[0]! ^ 0xff;
    }
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range) {
      start = Number(range[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` });
        res.end();
        return;
      }
      res.writeHead(206, { ...headers, 'content-length': String(body.length - start), 'content-range': `bytes ${start}-${body.length - 1}/${body.length}`, 'accept-ranges': 'bytes' });
    } else res.writeHead(200, { ...headers, 'content-length': String(body.length), 'accept-ranges': 'bytes' });
    const slice = body.subarray(start);
    if (fault?.dropAfter !== undefined) {
      const n = fault.dropAfter;
      delete fault.dropAfter; // once
      res.write(slice.subarray(0, n), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(slice);
  }

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  // The same object the server reads, so a test's `pageSize = 7` takes effect.
  return Object.assign(hub, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}

/** A Florence-2-like transformers.js repo: configs, a tokenizer, and onnx/ in several dtypes. */
export function florenceLikeRepo(commit = 'a'.repeat(40)): MockRepo {
  const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) % 251));
  const files: Record<string, MockFile> = {
    'config.json': { content: Buffer.from(JSON.stringify({ model_type: 'florence2' })), lfs: false },
    'preprocessor_config.json': { content: Buffer.from('{"do_resize":true}'), lfs: false },
    'tokenizer.json': { content: bytes(3000, 1), lfs: false },
    'generation_config.json': { content: Buffer.from('{}'), lfs: false },
    'README.md': { content: Buffer.from('# model card'), lfs: false },
    '.gitattributes': { content: Buffer.from('*.onnx filter=lfs'), lfs: false },
  };
  let seed = 10;
  for (const module of ['vision_encoder', 'embed_tokens', 'encoder_model', 'decoder_model_merged', 'decoder_model'])
    for (const suffix of ['', '_fp16', '_quantized', '_q4'])
      files[`onnx/${module}${suffix}.onnx`] = { content: bytes(module === 'vision_encoder' && suffix === '' ? 200_000 : 5000 + seed, seed++), lfs: true };
  return { commit, files };
}
