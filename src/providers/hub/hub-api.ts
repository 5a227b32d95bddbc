/**
 * The few Hugging Face hub HTTP calls a pull needs, and their failures in words a user can
 * act on. Protocol (huggingface_hub / huggingface.js do the same):
 *  - `GET {endpoint}/api/models/{repo}/revision/{revision}` → `{ sha, … }`: pins the commit so
 *    every file comes from one snapshot even if the branch moves mid-pull;
 *  - `GET {endpoint}/api/models/{repo}/tree/{revision}?recursive=true` → `[{ type, path, size,
 *    oid, lfs?: { oid (sha256), size } }]`, paged with a `Link: <…>; rel="next"` header;
 *  - `GET {endpoint}/{repo}/resolve/{revision}/{path}` → the bytes; LFS files answer 302 to a
 *    CDN URL (signed, on another host), and the `X-Repo-Commit` header names the commit.
 * Errors carry `X-Error-Code` (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo); the
 * hub answers 401 rather than 404 for a repo that does not exist when no token is sent,
 * because it cannot tell it from a private one.
 */
import { causeCode } from '../provider-fetch.js';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

export interface HubOptions {
  /** `https://huggingface.co` or a mirror (HF_ENDPOINT), without a trailing slash. */
  endpoint: string;
  /** HF_TOKEN, sent as a Bearer token to the endpoint (never to redirect targets on other hosts). */
  token?: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

export type HubErrorKind = 'not-found' | 'unauthorized' | 'gated' | 'network' | 'interrupted' | 'checksum' | 'http' | 'no-onnx' | 'dtype';

export class HubError extends Error {
  constructor(
    readonly kind: HubErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'HubError';
  }
}

export function hubEndpoint(env: Record<string, string | undefined>): string {
  return (env.HF_ENDPOINT?.trim() || DEFAULT_ENDPOINT).replace(/\/+$/, '');
}

export function hubToken(env: Record<string, string | undefined>): string | undefined {
  return env.HF_TOKEN?.trim() || undefined;
}

const encodePath = (p: string) => p.split('/').map(encodeURIComponent).join('/');

export const revisionUrl = (o: HubOptions, repo: string, revision: string) =>
  `${o.endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}`;
export const treeUrl = (o: HubOptions, repo: string, revision: string) =>
  `${o.endpoint}/api/models/${repo}/tree/${encodeURIComponent(revision)}?recursive=true`;
export const resolveUrl = (o: HubOptions, repo: string, revision: string, file: string) =>
  `${o.endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${encodePath(file)}`;

export function networkError(endpoint: string, err: unknown): Error {
  if ((err as Error)?.name === 'AbortError') return err as Error;
  return new HubError(
    'network',
    `cannot reach ${endpoint} (${causeCode(err)}). Check the network, or set HF_ENDPOINT to a mirror you can reach.`,
  );
}

/** A non-2xx hub answer as the HubError it stands for. */
export async function statusError(res: Response, what: string, repo: string, revision: string): Promise<HubError> {
  const code = res.headers.get('x-error-code') ?? '';
  let detail = res.headers.get('x-error-message') ?? '';
  if (!detail) {
    const body = await res.text().catch(() => '');
    try {
      detail = String((JSON.parse(body) as { error?: unknown }).error ?? '');
    } catch {
      detail = body.slice(0, 200);
    }
  }
  const tail = detail ? ` (hub said: ${detail.trim()})` : '';
  if (code === 'GatedRepo')
    return new HubError('gated', `${repo} is gated: accept its conditions on the model page while logged in, then set HF_TOKEN to a token of that account${tail}.`);
  if (code === 'RevisionNotFound') return new HubError('not-found', `${repo} has no revision "${revision}"${tail}.`);
  if (code === 'EntryNotFound') return new HubError('not-found', `${what} is not in ${repo} at ${revision}${tail}.`);
  if (res.status === 404 || code === 'RepoNotFound')
    return new HubError(
      'not-found',
      `model ${repo} was not found on the hub${tail}. Check the id (owner/name, as in the model page's URL); if it is private, set HF_TOKEN.`,
    );
  if (res.status === 401 || res.status === 403)
    return new HubError(
      'unauthorized',
      `the hub refused ${what} of ${repo} (HTTP ${res.status})${tail}: the model is private, gated or does not exist. Set HF_TOKEN to an access token (https://huggingface.co/settings/tokens) that can read it.`,
    );
  return new HubError('http', `${what} of ${repo} failed: HTTP ${res.status}${tail}.`);
}

/**
 * fetch with redirects followed by hand: so the Authorization header goes only to the
 * endpoint's own origin (a signed CDN URL must not receive the token), while a Range header
 * is kept across the hop, and the first answer's X-Repo-Commit is not lost.
 */
export async function hubFetch(o: HubOptions, url: string, headers: Record<string, string> = {}): Promise<{ res: Response; commit?: string }> {
  const doFetch = o.fetch ?? fetch;
  const origin = new URL(o.endpoint).origin;
  let current = url;
  let commit: string | undefined;
  for (let hop = 0; hop < 10; hop++) {
    const h: Record<string, string> = { 'user-agent': 'ocellus-pull', ...headers };
    if (o.token && new URL(current).origin === origin) h.authorization = `Bearer ${o.token}`;
    let res: Response;
    try {
      res = await doFetch(current, { headers: h, redirect: 'manual', ...(o.signal ? { signal: o.signal } : {}) });
    } catch (err) {
      throw networkError(new URL(current).origin, err);
    }
    commit ??= res.headers.get('x-repo-commit') ?? undefined;
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel().catch(() => undefined);
      current = new URL(location, current).href;
      continue;
    }
    return { res, ...(commit ? { commit } : {}) };
  }
  throw new HubError('http', `too many redirects fetching ${url}`);
}

/** The commit sha `revision` points at, or undefined when the endpoint does not say (some mirrors). */
export async function resolveCommit(o: HubOptions, repo: string, revision: string): Promise<string | undefined> {
  const { res } = await hubFetch(o, revisionUrl(o, repo, revision), { accept: 'application/json' });
  if (res.status === 401 || res.status === 403 || res.status === 404) throw await statusError(res, 'the model information', repo, revision);
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    return undefined;
  }
  const info = (await res.json().catch(() => ({}))) as { sha?: unknown };
  return typeof info.sha === 'string' && /^[0-9a-f]{40}$/.test(info.sha) ? info.sha : undefined;
}

export interface TreeEntry {
  type: 'file' | 'directory' | string;
  path: string;
  size: number;
  /** git blob sha1 (for LFS files, of the pointer). */
  oid?: string;
  lfs?: { oid: string; size: number };
}

/** `Link: <url>; rel="next"` → url. */
export function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (m) return m[1];
  }
  return undefined;
}

/** Every file of the repo at `revision` (directories dropped), following the pages. */
export async function listTree(o: HubOptions, repo: string, revision: string): Promise<TreeEntry[]> {
  const files: TreeEntry[] = [];
  let url: string | undefined = treeUrl(o, repo, revision);
  while (url) {
    const { res } = await hubFetch(o, url, { accept: 'application/json' });
    if (!res.ok) throw await statusError(res, 'the file list', repo, revision);
    const page = (await res.json()) as unknown;
    if (!Array.isArray(page)) throw new HubError('http', `the file list of ${repo} is not a JSON array; is ${o.endpoint} a hub or a hub mirror?`);
    for (const e of page as TreeEntry[]) if (e && e.type === 'file' && typeof e.path === 'string') files.push(e);
    const next = nextLink(res.headers.get('link'));
    url = next ? new URL(next, url).href : undefined;
  }
  return files;
}
