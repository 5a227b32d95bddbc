/**
 * `POST /upload/{v}/files`: the three ways Gemini takes file bytes.
 *
 * - Resumable (what both SDKs use): a `start` request answers with an absolute upload URL
 *   whose `upload_id` is the credential; chunks (`upload`, `upload, finalize`, `finalize`),
 *   `query` and `cancel` go to that URL. Chunks need no API key (the Python SDK sends none).
 * - Multipart (`multipart/related` or `multipart/form-data`): metadata part + media part.
 * - Raw (`uploadType=media` / `X-Goog-Upload-Protocol: raw`): the body is the file.
 *
 * Bodies are never parsed by content type (the SDKs send chunks as `application/json`, curl
 * as `x-www-form-urlencoded`): this scope replaces every content-type parser with one that
 * leaves the request stream alone, and the handlers stream it to disk with backpressure.
 *
 * Chunk requests and the others share one path and method; they are told apart by the
 * `upload_id` query parameter through a router constraint, so the chunk route can skip the
 * API-key check while every other upload request keeps it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { RouteModule } from '../app.js';
import { bodyStreamOf } from '../body-timeouts.js';
import { clientClosed, invalidArgument } from '../../errors.js';
import { JsonSyntaxError, parseLenientJson } from '../../wire/lenient-json.js';
import {
  cleanMimeType,
  parseFileMetadata,
  toFileResource,
  type FilesService,
} from '../../files/service.js';
import type { FileRecord } from '../../files/store.js';
import { isMultipart, readMultipartUpload } from '../../files/multipart.js';

/** Chunk size the SDKs use and that we advertise to other clients. */
export const CHUNK_GRANULARITY = 8 * 1024 * 1024;
const MAX_START_BODY = 1024 * 1024;
const MULTIPART_FRAMING = 1024 * 1024;
const UPLOAD_ID_CONSTRAINT = 'ocellusUploadId';

/** Matches requests that carry `upload_id` in their query string. */
type ConstraintStrategy = Parameters<FastifyInstance['addConstraintStrategy']>[0];
type StoredHandler = ReturnType<ReturnType<ConstraintStrategy['storage']>['get']>;
const uploadIdStrategy: ConstraintStrategy = {
  name: UPLOAD_ID_CONSTRAINT,
  storage() {
    const handlers = new Map<unknown, StoredHandler>();
    return {
      get: (value) => handlers.get(value) ?? null,
      set: (value, store) => void handlers.set(value, store),
    };
  },
  deriveConstraint(req: IncomingMessage): string | undefined {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    if (q < 0) return undefined;
    return new URLSearchParams(url.slice(q + 1)).has('upload_id') ? 'yes' : undefined;
  },
};

interface UploadQuery {
  upload_id?: string;
  uploadType?: string;
  upload_protocol?: string;
}

const header = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return (Array.isArray(v) ? v[0] : v)?.trim() || undefined;
};

function intHeader(req: FastifyRequest, name: string): number | undefined {
  const v = header(req, name);
  if (v === undefined) return undefined;
  if (!/^\d{1,16}$/.test(v)) throw invalidArgument(`Invalid ${name} header: ${JSON.stringify(v)}.`);
  return Number(v);
}

function contentLengthOf(req: FastifyRequest): number | undefined {
  const v = header(req, 'content-length');
  return v !== undefined && /^\d{1,16}$/.test(v) ? Number(v) : undefined;
}

/**
 * The request body as a stream we read ourselves (through the body watchdog, which fails it
 * with 408 when the client stalls); an early stop does not destroy the socket.
 */
const bodyOf = (req: FastifyRequest): AsyncIterable<Uint8Array> =>
  bodyStreamOf(req.raw).iterator({ destroyOnReturn: false }) as AsyncIterable<Uint8Array>;

/** MIME types that make no claim about the bytes (curl's and the SDKs' defaults). */
const NO_CLAIM = new Set(['application/x-www-form-urlencoded', 'application/octet-stream', 'application/json']);

const fileBody = (req: FastifyRequest, rec: FileRecord) => ({
  file: toFileResource(rec, req.publicBase, req.apiVersion),
});

async function readSmallBody(req: FastifyRequest): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of bodyOf(req)) {
    size += chunk.length;
    if (size > MAX_START_BODY)
      throw invalidArgument(`Request payload size exceeds the limit: ${MAX_START_BODY} bytes.`);
    parts.push(Buffer.from(chunk));
  }
  return Buffer.concat(parts).toString('utf8');
}

/**
 * Runs an upload handler, translating a client that went away into 499 and making sure
 * a request whose body was not read to the end gets `Connection: close` with its error
 * (otherwise Node would read and discard the rest of a possibly huge body).
 */
async function guarded<T>(req: FastifyRequest, reply: FastifyReply, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (req.raw.aborted || (req.raw.destroyed && !req.raw.readableEnded))
      throw clientClosed('The client closed the request before the upload completed.');
    if (!req.raw.readableEnded) void reply.header('connection', 'close');
    throw err;
  }
}

export function createUploadRoutes(files: FilesService): RouteModule {
  return async (app: FastifyInstance) => {
    if (!app.hasConstraintStrategy(UPLOAD_ID_CONSTRAINT)) app.addConstraintStrategy(uploadIdStrategy);

    await app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (_req, _payload, done) => done(null));
      const bodyLimit = Math.min(Number.MAX_SAFE_INTEGER, files.limits.fileBytes + MULTIPART_FRAMING);

      // Chunks, query and cancel on an upload URL. The upload_id is the credential.
      scope.post<{ Querystring: UploadQuery }>(
        '/files',
        { bodyLimit, constraints: { [UPLOAD_ID_CONSTRAINT]: 'yes' }, config: { skipAuth: true, streamedBody: true } },
        async (req, reply) =>
          guarded(req, reply, async () => {
            const uploadId = req.query.upload_id ?? '';
            const commandHeader = header(req, 'x-goog-upload-command');
            if (!commandHeader) throw invalidArgument('The X-Goog-Upload-Command header is required on an upload URL.');
            const commands = new Set(commandHeader.toLowerCase().split(',').map((c) => c.trim()).filter(Boolean));
            const only = (...names: string[]) => commands.size === names.length && names.every((n) => commands.has(n));

            if (only('query')) {
              const status = await files.queryUpload(uploadId);
              return reply
                .header('X-Goog-Upload-Status', status.status)
                .header('X-Goog-Upload-Size-Received', String(status.received))
                .send();
            }
            if (only('cancel')) {
              await files.cancelUpload(uploadId);
              return reply.header('X-Goog-Upload-Status', 'cancelled').send();
            }
            const finalize = only('upload', 'finalize') || only('finalize');
            if (!finalize && !only('upload'))
              throw invalidArgument(
                `Unsupported X-Goog-Upload-Command ${JSON.stringify(commandHeader)}: use upload, "upload, finalize", finalize, query or cancel.`,
              );
            const result = await files.uploadChunk(uploadId, {
              offset: intHeader(req, 'x-goog-upload-offset'),
              finalize,
              body: bodyOf(req),
              contentLength: contentLengthOf(req),
            });
            void reply.header('X-Goog-Upload-Status', result.status).header('X-Goog-Upload-Size-Received', String(result.received));
            if (result.status === 'active') return reply.send();
            return reply.type('application/json').send(fileBody(req, result.file));
          }),
      );

      // Resumable start, multipart and raw uploads: authenticated like every API call.
      scope.post<{ Querystring: UploadQuery }>('/files', { bodyLimit, config: { streamedBody: true } }, async (req, reply) =>
        guarded(req, reply, async () => {
          const project = req.principal.project;
          const contentType = header(req, 'content-type');
          const protocol = (header(req, 'x-goog-upload-protocol') ?? req.query.uploadType ?? '').toLowerCase();

          if (protocol === 'resumable') {
            const command = (header(req, 'x-goog-upload-command') ?? 'start').toLowerCase().trim();
            if (command !== 'start')
              throw invalidArgument(
                `X-Goog-Upload-Command must be "start" to begin a resumable upload (got ${JSON.stringify(command)}).`,
              );
            const text = await readSmallBody(req);
            const declaredSize = intHeader(req, 'x-goog-upload-header-content-length');
            // A full disk is said at the start, not after the first chunk was sent.
            // A size over the file limit is the client's 400 (startResumable), not a full disk's
            // 503 (found by test/fuzz: X-Goog-Upload-Header-Content-Length 9007199254740993).
            await files.ensureDiskSpace(declaredSize !== undefined && declaredSize <= files.limits.fileBytes ? declaredSize : 0);
            let parsed: unknown;
            try {
              parsed = text.trim() === '' ? undefined : parseLenientJson(text);
            } catch (err) {
              const reason = err instanceof JsonSyntaxError ? err.message : String(err);
              throw invalidArgument(`Invalid JSON payload received. ${reason}`);
            }
            const { uploadId } = await files.startResumable(project, {
              metadata: parseFileMetadata(parsed),
              declaredSize,
              mimeType: header(req, 'x-goog-upload-header-content-type'),
            });
            const url = `${req.publicBase}/upload/${req.apiVersion}/files?upload_id=${encodeURIComponent(uploadId)}&upload_protocol=resumable`;
            return reply
              .header('X-Goog-Upload-Status', 'active')
              .header('X-Goog-Upload-URL', url)
              .header('X-Goog-Upload-Control-URL', url)
              .header('X-Goog-Upload-Chunk-Granularity', String(CHUNK_GRANULARITY))
              .send();
          }

          const multipart = protocol === 'multipart' || (protocol === '' && isMultipart(contentType));
          if (multipart) {
            if (!isMultipart(contentType))
              throw invalidArgument(
                `A multipart upload needs Content-Type multipart/related or multipart/form-data (got ${JSON.stringify(contentType ?? '')}).`,
              );
            const upload = await files.beginUpload(project, {
              contentLength: contentLengthOf(req),
              framingBytes: MULTIPART_FRAMING,
            });
            try {
              const parsed = await readMultipartUpload(contentType!, bodyOf(req), {
                onMetadata: (m) => files.checkMetadata(project, m),
                write: (chunk) => upload.write(chunk),
              });
              const mimeType = cleanMimeType(parsed.metadata.mimeType) ?? parsed.mediaMimeType;
              const rec = await upload.finish({ ...parsed.metadata, mimeType });
              return reply.type('application/json').send(fileBody(req, rec));
            } finally {
              await upload.abort();
            }
          }

          if (protocol !== '' && protocol !== 'raw' && protocol !== 'media')
            throw invalidArgument(
              `Unsupported upload protocol ${JSON.stringify(protocol)}: use resumable, multipart or raw (uploadType=media).`,
            );
          const declared =
            cleanMimeType(header(req, 'x-goog-upload-header-content-type')) ??
            cleanMimeType(header(req, 'x-goog-upload-content-type')) ??
            cleanMimeType(contentType);
          const upload = await files.beginUpload(project, { contentLength: contentLengthOf(req) });
          try {
            await pipeline(bodyOf(req), async (source: AsyncIterable<Uint8Array>) => {
              for await (const chunk of source) await upload.write(chunk);
            });
            const rec = await upload.finish({ mimeType: declared && !NO_CLAIM.has(declared) ? declared : undefined });
            return reply.type('application/json').send(fileBody(req, rec));
          } finally {
            await upload.abort();
          }
        }),
      );
    });
  };
}
