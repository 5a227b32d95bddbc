/** List pagination shared by models and files: `pageSize` in, opaque `nextPageToken` out. */
import { invalidArgument } from '../errors.js';

export function parsePageSize(raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw invalidArgument(`Invalid value for page_size: ${raw}`, 'page_size');
  if (n === 0) return fallback;
  return Math.min(Math.floor(n), max);
}

export function encodePageToken(kind: string, offset: number): string {
  return Buffer.from(`${kind}:${offset}`).toString('base64url');
}

export function decodePageToken(token: string, kind: string): number {
  const [k, offset] = Buffer.from(token, 'base64url').toString().split(':');
  const n = Number(offset);
  if (k !== kind || !Number.isInteger(n) || n < 0) throw invalidArgument('Invalid page token.', 'page_token');
  return n;
}
