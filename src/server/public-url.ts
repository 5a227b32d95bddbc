/**
 * The externally visible base URL of this server, used for absolute upload URLs and file
 * URIs. The JS SDK swaps in its own host but keeps the path; the Python SDK uses the URL
 * verbatim, so it must be reachable from the client: a configured public URL wins, then
 * X-Forwarded-* from a reverse proxy, then the request's own Host.
 */
export interface RequestOrigin {
  headers: Record<string, string | string[] | undefined>;
  protocol: string;
}

const first = (v: string | string[] | undefined): string | undefined =>
  (Array.isArray(v) ? v[0] : v)?.split(',')[0]?.trim() || undefined;

export function publicBaseUrl(configured: string | undefined, req: RequestOrigin): string {
  if (configured) return configured;
  const proto = first(req.headers['x-forwarded-proto']) ?? req.protocol;
  const host = first(req.headers['x-forwarded-host']) ?? first(req.headers.host) ?? 'localhost';
  const prefix = (first(req.headers['x-forwarded-prefix']) ?? '').replace(/\/+$/, '');
  return `${proto}://${host}${prefix}`;
}
