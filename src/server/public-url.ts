/**
 * The externally visible base URL of this server, used for absolute upload URLs and file
 * URIs. The JS SDK swaps in its own host but keeps the path; the Python SDK uses the URL
 * verbatim, so it must be reachable from the client: a configured public URL wins, then
 * X-Forwarded-* from a reverse proxy (only with --trust-proxy: any client can send those
 * headers, and upload URLs and File.uri must not point where a client says), then the
 * request's own Host.
 */
export interface RequestOrigin {
  headers: Record<string, string | string[] | undefined>;
  protocol: string;
}

const first = (v: string | string[] | undefined): string | undefined =>
  (Array.isArray(v) ? v[0] : v)?.split(',')[0]?.trim() || undefined;

export function publicBaseUrl(configured: string | undefined, req: RequestOrigin, trustProxy = false): string {
  if (configured) return configured;
  const forwarded = (name: string): string | undefined => (trustProxy ? first(req.headers[name]) : undefined);
  const proto = forwarded('x-forwarded-proto') ?? req.protocol;
  const host = forwarded('x-forwarded-host') ?? first(req.headers.host) ?? 'localhost';
  const prefix = (forwarded('x-forwarded-prefix') ?? '').replace(/\/+$/, '');
  return `${proto}://${host}${prefix}`;
}
