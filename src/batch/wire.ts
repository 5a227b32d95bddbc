/**
 * The Batch API's wire shapes, as both SDKs send and read them:
 *
 * - create: `POST models/{model}:batchGenerateContent` with
 *   `{batch: {displayName?, inputConfig: {requests: {requests: [{request, metadata?}]}} | {fileName}}}`;
 * - the batch is a long-running operation `{name: 'batches/{id}', metadata: {...}, done, response?}`
 *   whose metadata carries `state` (BATCH_STATE_*), `batchStats` (int64 counts as strings,
 *   as protobuf JSON writes them) and `output` (`inlinedResponses.inlinedResponses[]` or
 *   `responsesFile`); the SDKs map `metadata.state` to JOB_STATE_* themselves;
 * - list: `{operations: [...], nextPageToken?}`.
 *
 * A request that is itself bad is not a bad batch: it is checked when it runs and its error
 * goes in its own answer. Here only the batch's shape is checked, naming the field.
 */
import { invalidArgument } from '../errors.js';
import type { BatchCounts, BatchRecord, ItemResult, NewItem } from './store.js';

const OP_TYPE = 'type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch';
const OUTPUT_TYPE = 'type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput';
export const MAX_DISPLAY_NAME = 512;
/** More than this many requests in one batch is refused up front (Gemini's file batches go to 2 GB; we keep rows). */
export const MAX_BATCH_REQUESTS = 100_000;

export type ParsedInput =
  | { kind: 'inline'; displayName: string | undefined; items: NewItem[] }
  | { kind: 'file'; displayName: string | undefined; fileName: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Accepts camelCase and snake_case keys (the REST API does; curl users write either). */
function field(obj: Record<string, unknown>, camel: string): unknown {
  if (camel in obj) return obj[camel];
  return obj[camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
}

export function parseCreateBody(body: unknown): ParsedInput {
  if (!isObject(body)) throw invalidArgument('batch is required: send {"batch": {"inputConfig": …}}.', 'batch');
  const batch = body.batch;
  if (!isObject(batch)) throw invalidArgument('batch is required and must be an object.', 'batch');
  const displayName = field(batch, 'displayName');
  if (displayName !== undefined && (typeof displayName !== 'string' || displayName.length > MAX_DISPLAY_NAME))
    throw invalidArgument(`batch.display_name must be a string of at most ${MAX_DISPLAY_NAME} characters.`, 'batch.display_name');
  const input = field(batch, 'inputConfig');
  if (!isObject(input)) throw invalidArgument('batch.input_config is required.', 'batch.input_config');
  const requests = field(input, 'requests');
  const fileName = field(input, 'fileName');
  if ((requests === undefined) === (fileName === undefined))
    throw invalidArgument('batch.input_config must set exactly one of requests and file_name.', 'batch.input_config');
  const name = typeof displayName === 'string' ? displayName : undefined;
  if (fileName !== undefined) {
    if (typeof fileName !== 'string' || !/^files\/[a-z0-9-]{1,40}$/.test(fileName))
      throw invalidArgument('batch.input_config.file_name must name an uploaded file as files/{id}.', 'batch.input_config.file_name');
    return { kind: 'file', displayName: name, fileName };
  }
  const list = isObject(requests) ? requests.requests : undefined;
  if (!Array.isArray(list) || list.length === 0)
    throw invalidArgument('batch.input_config.requests.requests must be a non-empty list of requests.', 'batch.input_config.requests.requests');
  if (list.length > MAX_BATCH_REQUESTS)
    throw invalidArgument(`batch.input_config.requests.requests has ${list.length} requests; at most ${MAX_BATCH_REQUESTS} are accepted.`, 'batch.input_config.requests.requests');
  const keys = new Set<string>();
  const items = list.map((entry, i): NewItem => {
    const at = `batch.input_config.requests.requests[${i}]`;
    if (!isObject(entry) || !isObject(entry.request)) throw invalidArgument(`${at}.request is required and must be an object.`, `${at}.request`);
    const metadata = entry.metadata;
    if (metadata !== undefined && !isObject(metadata)) throw invalidArgument(`${at}.metadata must be an object.`, `${at}.metadata`);
    checkKey(metadata?.key, keys, `${at}.metadata.key`);
    return { metadata, request: JSON.stringify(entry.request) };
  });
  return { kind: 'inline', displayName: name, items };
}

/** Keys name answers: two requests with one key would make "each request once" unprovable. */
function checkKey(key: unknown, seen: Set<string>, at: string): void {
  if (key === undefined) return;
  if (typeof key !== 'string') throw invalidArgument(`${at} must be a string.`, at);
  if (seen.has(key)) throw invalidArgument(`${at} ${JSON.stringify(key)} is used by an earlier request; keys must be unique.`, at);
  seen.add(key);
}

/**
 * A JSONL input file: one `{"key": …, "request": {…}}` per line. A line that is not a
 * request becomes an item whose answer is that error; the batch itself is refused only
 * when the file holds no request at all or repeats a key.
 */
export function parseJsonlInput(text: string, fileName: string): NewItem[] {
  const keys = new Set<string>();
  const items: NewItem[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const at = `${fileName} line ${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      items.push({ metadata: { key: `line-${i + 1}` }, request: null, error: badLine(`${at} is not JSON: ${(err as Error).message}`) });
      return;
    }
    if (!isObject(value) || !isObject(value.request)) {
      const key = isObject(value) && typeof value.key === 'string' ? value.key : `line-${i + 1}`;
      items.push({ metadata: { key }, request: null, error: badLine(`${at}: request is required and must be an object.`) });
      return;
    }
    if (value.key !== undefined) checkKey(value.key, keys, `${at}: key`);
    items.push({ metadata: value.key !== undefined ? { key: value.key } : undefined, request: JSON.stringify(value.request) });
  });
  if (items.length === 0) throw invalidArgument(`${fileName} holds no requests (one JSON object per line).`, 'batch.input_config.file_name');
  if (items.length > MAX_BATCH_REQUESTS)
    throw invalidArgument(`${fileName} has ${items.length} requests; at most ${MAX_BATCH_REQUESTS} are accepted.`, 'batch.input_config.file_name');
  return items;
}

/** A line's error in the batch's results, with the code and status of the catalogue's invalidArgument. */
const badLine = (message: string) => {
  const e = invalidArgument(message);
  return { code: e.httpStatus, message: e.message, status: e.status };
};

const iso = (ms: number) => new Date(ms).toISOString();

export interface RenderOptions {
  /** Whether to include the inline answers (get does; list leaves them out to stay small). */
  withResults: boolean;
}

/** The batch as Gemini's long-running operation. */
export function toOperation(b: BatchRecord, counts: BatchCounts, results: ItemResult[] | undefined): Record<string, unknown> {
  const done = b.state !== 'BATCH_STATE_PENDING' && b.state !== 'BATCH_STATE_RUNNING';
  const output = outputOf(b, results);
  const metadata: Record<string, unknown> = {
    '@type': OP_TYPE,
    model: b.model,
    ...(b.displayName !== undefined ? { displayName: b.displayName } : {}),
    ...(b.input.kind === 'file' ? { inputConfig: { fileName: b.input.fileName } } : {}),
    createTime: iso(b.createTime),
    updateTime: iso(b.updateTime),
    ...(b.endTime !== undefined ? { endTime: iso(b.endTime) } : {}),
    batchStats: {
      requestCount: String(counts.total),
      successfulRequestCount: String(counts.succeeded),
      failedRequestCount: String(counts.failed),
      pendingRequestCount: String(counts.pending + counts.running),
    },
    state: b.state,
    name: `batches/${b.id}`,
    ...(output ? { output } : {}),
  };
  return {
    name: `batches/${b.id}`,
    metadata,
    ...(done ? { done: true } : {}),
    ...(b.state === 'BATCH_STATE_FAILED' ? { error: { code: 13, message: b.errorMessage ?? 'The batch failed.', details: [] } } : {}),
    ...(done && output && b.state !== 'BATCH_STATE_FAILED' ? { response: { '@type': OUTPUT_TYPE, ...output } } : {}),
  };
}

function outputOf(b: BatchRecord, results: ItemResult[] | undefined): Record<string, unknown> | undefined {
  if (b.input.kind === 'file') return b.responsesFile ? { responsesFile: b.responsesFile } : undefined;
  if (!results || results.length === 0) return undefined;
  return { inlinedResponses: { inlinedResponses: results.map(inlinedResponse) } };
}

/**
 * google.rpc.Code numbers of the catalogue's statuses. A request's error in a batch is a
 * `google.rpc.Status` (`{code, message, details}`, the SDKs' JobError) as everywhere in a
 * resource body (the operation's own `error`, a FAILED file's `error`): `code` is the gRPC
 * code (3 for INVALID_ARGUMENT), not the HTTP status the error envelope of a failed call
 * carries, and there is no `status` field (the Python SDK's models refuse unknown fields).
 */
const RPC_CODES: Record<string, number> = {
  CANCELLED: 1,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
};
/** google.rpc.Code UNKNOWN, for a status this table does not name. */
const RPC_UNKNOWN = 2;

/** A stored outcome as the wire shows it: the response, or the error as a google.rpc.Status. */
export function wireOutcome(outcome: ItemResult['outcome']): Record<string, unknown> {
  if (!('error' in outcome)) return outcome;
  const e = outcome.error;
  return { error: { code: RPC_CODES[e.status] ?? RPC_UNKNOWN, message: e.message, details: [] } };
}

function inlinedResponse(r: ItemResult): Record<string, unknown> {
  return { ...wireOutcome(r.outcome), ...(r.metadata ? { metadata: r.metadata } : {}) };
}

/** One line of the responses file: the request's key and its answer or its error. */
export function responseLine(r: ItemResult): string {
  const key = r.metadata?.key;
  return JSON.stringify({ ...(key !== undefined ? { key } : {}), ...wireOutcome(r.outcome) });
}
