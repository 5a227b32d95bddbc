/**
 * The error catalogue (src/errors.ts): codes counted, unique, stable (a snapshot of the list),
 * each documented in docs/errors.md with the same HTTP code, Gemini status and meaning, and
 * no src/ file building an error from a raw status instead of a catalogue code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiError, ERROR_CATALOGUE, invalidArgument, type ErrorCode } from '../../src/errors.js';
import { MediaError } from '../../src/media/errors.js';
import { providerHttpError } from '../../src/providers/provider-errors.js';
import { errorBody } from '../../src/server/error-envelope.js';
import { ROOT } from './cruise.js';

/**
 * Every code ever published, in catalogue order. A code is never renamed or removed (clients
 * and log queries use them); a new one is added here and in docs/errors.md together.
 */
const PUBLISHED_CODES = [
  'OCL_ERR_INVALID_ARGUMENT',
  'OCL_ERR_FAILED_PRECONDITION',
  'OCL_ERR_NOT_FOUND',
  'OCL_ERR_PERMISSION_DENIED',
  'OCL_ERR_ALREADY_EXISTS',
  'OCL_ERR_RESOURCE_EXHAUSTED',
  'OCL_ERR_CANCELLED',
  'OCL_ERR_INTERNAL',
  'OCL_ERR_UNIMPLEMENTED',
  'OCL_ERR_UNAVAILABLE',
  'OCL_ERR_OUTPUT_FORMAT_UNSUPPORTED',
  'OCL_ERR_API_KEY_INVALID',
  'OCL_ERR_API_KEY_MISSING',
  'OCL_ERR_UNAUTHENTICATED',
  'OCL_ERR_REQUEST_TIMEOUT',
  'OCL_ERR_PAYLOAD_TOO_LARGE',
  'OCL_ERR_URI_TOO_LONG',
  'OCL_ERR_EXPECTATION_FAILED',
  'OCL_ERR_HEADERS_TOO_LARGE',
  'OCL_ERR_FILE_NOT_ACCESSIBLE',
  'OCL_ERR_FILE_QUOTA_EXCEEDED',
  'OCL_ERR_UPLOAD_FINALIZED',
  'OCL_ERR_UPLOAD_OFFSET',
  'OCL_ERR_IMAGE_EMPTY',
  'OCL_ERR_IMAGE_UNSUPPORTED',
  'OCL_ERR_IMAGE_MIME_MISMATCH',
  'OCL_ERR_IMAGE_CORRUPT',
  'OCL_ERR_IMAGE_TOO_MANY_PIXELS',
  'OCL_ERR_PROVIDER_UNREACHABLE',
  'OCL_ERR_PROVIDER_TIMEOUT',
  'OCL_ERR_PROVIDER_RATE_LIMITED',
  'OCL_ERR_PROVIDER_FAILED',
  'OCL_ERR_PROVIDER_REJECTED',
  'OCL_ERR_PROVIDER_FORBIDDEN',
  'OCL_ERR_PROVIDER_KEY_REFUSED',
  'OCL_ERR_PROVIDER_FILE_GONE',
  'OCL_ERR_PROVIDER_CANNOT_ANSWER',
  'OCL_ERR_PROVIDER_NEEDS_INPUT',
  'OCL_ERR_PROVIDER_MISCONFIGURED',
];

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sourceFiles(path.join(dir, d.name)) : /\.(ts|cts|mts)$/.test(d.name) ? [path.join(dir, d.name)] : [],
  );

describe('error catalogue', () => {
  const codes = Object.keys(ERROR_CATALOGUE);

  it('is the published list: nothing renamed, removed or added unnoticed', () => {
    expect(codes).toEqual(PUBLISHED_CODES);
    expect(codes).toHaveLength(39);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(/^OCL_ERR_[A-Z0-9_]+$/);
  });

  it('documents every code in docs/errors.md with its HTTP code, Gemini status and meaning', () => {
    const doc = readFileSync(path.join(ROOT, 'docs', 'errors.md'), 'utf8');
    const rows = doc.split('\n').filter((l) => l.startsWith('| `OCL_ERR_'));
    const expected = Object.entries(ERROR_CATALOGUE).map(([code, e]) => `| \`${code}\` | ${e.http} | ${e.status} | ${e.meaning} |`);
    expect(rows).toEqual(expected);
  });

  it('gives every error its code, status and cause', () => {
    const cause = new Error('disk on fire');
    const e = new ApiError('OCL_ERR_UNAVAILABLE', 'try later', { cause, headers: { 'Retry-After': '3' } });
    expect([e.code, e.httpStatus, e.status, e.cause, e.headers]).toEqual(['OCL_ERR_UNAVAILABLE', 503, 'UNAVAILABLE', cause, { 'Retry-After': '3' }]);
    const about = e.about('contents[0]');
    expect([about.code, about.message, about.cause]).toEqual(['OCL_ERR_UNAVAILABLE', 'contents[0]: try later', cause]);
    expect(new MediaError('x is empty', 'empty')).toMatchObject({ code: 'OCL_ERR_IMAGE_EMPTY', httpStatus: 400, reason: 'empty' });
    expect(providerHttpError('p', 403, 'no')).toMatchObject({ code: 'OCL_ERR_PROVIDER_FORBIDDEN', httpStatus: 400, retryable: false });
  });

  it('keeps the wire envelope: a MediaError reads as the invalidArgument it used to be mapped to', () => {
    const media = MediaError.about('contents[0].parts[1].inlineData', 'is empty (0 bytes); expected an image.', 'empty');
    expect(errorBody(media)).toEqual(errorBody(invalidArgument(media.message)));
  });

  it('is the only way src/ builds an error: no raw statuses outside errors.ts', () => {
    const offenders: string[] = [];
    for (const file of sourceFiles(path.join(ROOT, 'src'))) {
      const rel = path.relative(ROOT, file).split(path.sep).join('/');
      if (rel === 'src/errors.ts') continue;
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          // `new ApiError(` outside errors.ts, or an error class or super() given an HTTP status
          // number. GeminiApiError (cli/) is exempt: it is the client's copy of an answer another
          // server sent, not an error this server answers with.
          if (/\bnew ApiError\(/.test(line) || /\b(new (?!GeminiApiError)\w*Error|super)\(\s*[1-5]\d\d\s*,/.test(line))
            offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(offenders).toEqual([]);
  });

  it('maps every code to an HTTP status that agrees with its Gemini status', () => {
    const httpOf: Record<string, number[]> = {
      INVALID_ARGUMENT: [400, 413, 414, 431],
      FAILED_PRECONDITION: [400, 417],
      UNAUTHENTICATED: [401],
      PERMISSION_DENIED: [403],
      NOT_FOUND: [404],
      ALREADY_EXISTS: [409],
      RESOURCE_EXHAUSTED: [429],
      CANCELLED: [499],
      INTERNAL: [500],
      UNIMPLEMENTED: [501],
      UNAVAILABLE: [503],
      DEADLINE_EXCEEDED: [408, 504],
    };
    for (const [code, e] of Object.entries(ERROR_CATALOGUE) as Array<[ErrorCode, (typeof ERROR_CATALOGUE)[ErrorCode]]>)
      expect(httpOf[e.status], code).toContain(e.http);
  });
});
