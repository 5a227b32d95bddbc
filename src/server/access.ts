/**
 * Which Host names and browser origins the server answers to. The check runs before
 * authentication, on every request, and refuses with 403 in Gemini's envelope.
 *
 * Open mode (no API keys, the default for local use) is where this matters: every web page
 * the user visits can send requests to 127.0.0.1, and with DNS rebinding a page of
 * `evil.example` can even read the answers (its name resolves to 127.0.0.1, so the browser
 * sees the server as same-origin). Two checks close that:
 * - Host allow-list: only loopback names, IP literals, the public URL's host, the bind
 *   address and `--allowed-hosts`. A rebinding attack needs a DNS name the attacker controls;
 *   an IP literal in Host means the browser addressed that IP itself, so IPs are safe to
 *   accept (as Vite's dev server does) and LAN use by address keeps working.
 * - Origin: a request from a browser page is served only for the server's own origin (the
 *   playground) and `--cors-origins`; any other origin gets 403 before anything runs (the
 *   page could not read the answer without CORS, but a simple POST would still act).
 *
 * With API keys the key is the credential, and it is not ambient (no cookie a foreign page
 * could ride on): a page can only do what the key its user typed into it allows. Browser
 * apps calling a keyed server (the SDK's web build) are the common case, so CORS stays open
 * for any origin there unless `--cors-origins` narrows it, and Host is checked only when
 * `--allowed-hosts` is given (a keyed server is typically reached by names we cannot guess).
 */
import type { AccessConfig } from '../config.js';
import { permissionDenied, type ApiError } from '../errors.js';

export interface AccessRequest {
  headers: Record<string, string | string[] | undefined>;
}

export interface AccessOptions {
  access: AccessConfig;
  /** Whether API keys are enforced. */
  keyed: boolean;
  publicUrl: string | undefined;
  /** The bind address (a specific name there is a name the operator chose). */
  bindHost: string;
}

/** Returns the refusal for a request, or undefined when it may go on. */
export type AccessCheck = (req: AccessRequest) => ApiError | undefined;

const first = (v: string | string[] | undefined): string | undefined =>
  (Array.isArray(v) ? v[0] : v)?.split(',')[0]?.trim() || undefined;

/** `Host` split into a lower-case name (IPv6 keeps its brackets) and port. */
export function splitHost(host: string): { name: string; port: string | undefined } {
  const h = host.trim().toLowerCase();
  const v6 = /^(\[[0-9a-f:.%]+\])(?::(\d+))?$/.exec(h);
  if (v6) return { name: v6[1]!, port: v6[2] };
  const m = /^([^:]*)(?::(\d*))?$/.exec(h);
  if (!m) return { name: h, port: undefined };
  return { name: m[1]!.replace(/\.$/, ''), port: m[2] || undefined };
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const isIpLiteral = (name: string): boolean => IPV4.test(name) || /^\[[0-9a-f:.%]+\]$/.test(name);
const isLoopbackName = (name: string): boolean => name === 'localhost' || name.endsWith('.localhost');
const WILDCARD_BIND = new Set(['0.0.0.0', '::', '[::]', '']);

/** Host of an origin or URL (`http://a:8080/x` → `a:8080`), lower case; undefined when unparsable. */
function hostOfUrl(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.host.toLowerCase() : undefined;
  } catch {
    return undefined;
  }
}

export function createAccessCheck(opts: AccessOptions): AccessCheck {
  const { access, keyed } = opts;
  const anyHost = access.allowedHosts.includes('*');
  const enforceHost = !anyHost && (!keyed || access.allowedHosts.length > 0);
  const publicHost = opts.publicUrl ? hostOfUrl(opts.publicUrl) : undefined;
  const named = new Set<string>();
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const entry of access.allowedHosts) {
    if (entry.startsWith('.')) suffixes.push(entry);
    else if (splitHost(entry).port !== undefined) exact.add(entry);
    else named.add(entry);
  }
  if (publicHost) named.add(splitHost(publicHost).name);
  if (!WILDCARD_BIND.has(opts.bindHost.toLowerCase())) named.add(splitHost(opts.bindHost).name);

  const hostAllowed = (host: string): boolean => {
    const { name } = splitHost(host);
    if (isLoopbackName(name) || isIpLiteral(name) || named.has(name) || exact.has(host.toLowerCase())) return true;
    return suffixes.some((s) => name === s.slice(1) || name.endsWith(s));
  };

  const anyOrigin = access.corsOrigins.includes('*') || (keyed && access.corsOrigins.length === 0);
  const origins = new Set(access.corsOrigins);

  return (req) => {
    const host = first(req.headers.host);
    // X-Forwarded-Host only counts behind a trusted proxy; it is what the browser addressed.
    const forwarded = access.trustProxy ? first(req.headers['x-forwarded-host']) : undefined;
    if (enforceHost) {
      for (const h of [host, forwarded]) {
        if (h !== undefined && !hostAllowed(h))
          return permissionDenied(
            `Host ${JSON.stringify(h)} is not allowed. This server runs without API keys, so it answers only to localhost, IP addresses and the names given with --public-url or --allowed-hosts (protection against DNS rebinding).`,
          );
      }
    }
    const origin = first(req.headers.origin);
    if (origin === undefined || anyOrigin) return undefined;
    const lower = origin.toLowerCase().replace(/\/+$/, '');
    if (origins.has(lower)) return undefined;
    // Same origin: the page was loaded from this server (the playground), directly or via
    // the public URL. The scheme is not compared: behind a TLS proxy the page is https while
    // this server sees http, and the host alone already names this server.
    const originHost = hostOfUrl(lower);
    if (originHost !== undefined) {
      const own = [host, forwarded, publicHost].filter((h): h is string => h !== undefined).map((h) => h.toLowerCase());
      if (own.includes(originHost)) return undefined;
    }
    return permissionDenied(
      `Requests from the web origin ${JSON.stringify(origin)} are not allowed. Add it with --cors-origins (OCELLUS_CORS_ORIGINS) to let that page call this server.`,
    );
  };
}
