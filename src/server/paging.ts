/**
 * List pagination, one rule for every list route (models, files): `pageSize` in (a
 * non-negative integer; 0 or absent means the route's default; clamped to its maximum),
 * an opaque `nextPageToken` out that carries the route's own cursor (an offset or a
 * store's sequence number) and names the list it belongs to, so a token from one list is
 * refused by another. Query keys in either case (`pageSize` / `page_size`).
 */
import { invalidArgument } from '../errors.js';

export interface PageQuery {
  pageSize?: string;
  pageToken?: string;
  page_size?: string;
  page_token?: string;
}

export interface PageRequest {
  size: number;
  /** The cursor the previous page's token carried; undefined for the first page. */
  cursor: number | undefined;
}

export interface PageLimits {
  /** Page size when none (or 0) is asked for. */
  fallback: number;
  max: number;
}

/** Parses and clamps `pageSize` (400 naming the field as sent for anything but a non-negative integer). */
export function parsePageSize(query: PageQuery, limits: PageLimits): number {
  const field = query.pageSize !== undefined ? 'pageSize' : 'page_size';
  const raw = query.pageSize ?? query.page_size;
  if (raw === undefined || raw === '') return limits.fallback;
  const n = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(n))
    throw invalidArgument(`Invalid ${field} ${JSON.stringify(raw)}: expected a non-negative integer.`, field);
  return n === 0 ? limits.fallback : Math.min(n, limits.max);
}

export function encodePageToken(list: string, cursor: number): string {
  return Buffer.from(`${list}:${cursor}`).toString('base64url');
}

export function decodePageToken(token: string, list: string): number {
  const m = /^([a-z]+):(\d{1,15})$/.exec(Buffer.from(token, 'base64url').toString('latin1'));
  if (!m || m[1] !== list) throw invalidArgument('Invalid page token.', 'pageToken');
  return Number(m[2]);
}

/** Page size and cursor of a list request. */
export function pageRequest(query: PageQuery, list: string, limits: PageLimits): PageRequest {
  const size = parsePageSize(query, limits);
  const token = query.pageToken ?? query.page_token;
  return { size, cursor: token ? decodePageToken(token, list) : undefined };
}

/** `{nextPageToken}` when there is a next page, else nothing (Gemini omits the field). */
export function nextPage(list: string, cursor: number | undefined): { nextPageToken?: string } {
  return cursor === undefined ? {} : { nextPageToken: encodePageToken(list, cursor) };
}
