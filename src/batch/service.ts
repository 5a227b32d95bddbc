/**
 * The Batch API independent of HTTP: create (inline requests or a JSONL file), get, list,
 * cancel and delete, over a JobStore and a BatchQueue. Every lookup is scoped to the
 * caller's project; someone else's batch is as missing as one that never was.
 */
import { randomBytes } from 'node:crypto';
import { invalidArgument, notFound } from '../errors.js';
import type { BatchFiles, ResolveModel } from './ports.js';
import type { BatchQueue } from './queue.js';
import { isFinal, type BatchRecord, type JobStore } from './store.js';
import { parseCreateBody, parseJsonlInput, toOperation } from './wire.js';

export const DEFAULT_PAGE_SIZE = 10;
export const MAX_PAGE_SIZE = 100;

export interface BatchServiceDeps {
  store: JobStore;
  queue: BatchQueue;
  files: BatchFiles;
  resolveModel: ResolveModel;
  now?: () => number;
}

export interface ListOptions {
  pageSize?: string | undefined;
  pageToken?: string | undefined;
}

export type BatchService = ReturnType<typeof createBatchService>;

/** Lower-case letters and digits, as Gemini's batch ids are. */
function newBatchId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(20)].map((b) => alphabet[b % alphabet.length]).join('');
}

export function createBatchService(deps: BatchServiceDeps) {
  const { store, queue } = deps;
  const now = deps.now ?? Date.now;

  const render = (b: BatchRecord, withResults: boolean) =>
    toOperation(b, store.counts(b.id), withResults && b.input.kind === 'inline' ? store.results(b.id) : undefined);

  const find = (project: string, name: string): BatchRecord => {
    const id = name.replace(/^batches\//, '');
    const b = /^[a-z0-9-]{1,64}$/.test(id) ? store.getBatch(project, id) : undefined;
    if (!b) throw notFound(`Batch batches/${id} was not found.`);
    return b;
  };

  return {
    /** `models/{model}:batchGenerateContent`. */
    async create(project: string, modelName: string, version: string, body: unknown): Promise<Record<string, unknown>> {
      const model = deps.resolveModel(modelName, version);
      const parsed = parseCreateBody(body);
      const items =
        parsed.kind === 'inline'
          ? parsed.items
          : parseJsonlInput((await deps.files.readInput(project, parsed.fileName)).toString('utf8'), parsed.fileName);
      const b = store.createBatch(
        {
          id: newBatchId(),
          project,
          model,
          displayName: parsed.displayName,
          input: parsed.kind === 'inline' ? { kind: 'inline' } : { kind: 'file', fileName: parsed.fileName },
          requestCount: items.length,
          createTime: now(),
        },
        items,
      );
      queue.enqueue(b.id);
      return render(b, false);
    },

    get(project: string, name: string): Record<string, unknown> {
      return render(find(project, name), true);
    },

    list(project: string, opts: ListOptions): Record<string, unknown> {
      const size = pageSizeOf(opts.pageSize);
      const page = store.listBatches(project, size, opts.pageToken ? decodeToken(opts.pageToken) : undefined);
      if (page.batches.length === 0) return {};
      return {
        operations: page.batches.map((b) => render(b, false)),
        ...(page.nextAfter !== undefined ? { nextPageToken: Buffer.from(`batches:${page.nextAfter}`).toString('base64url') } : {}),
      };
    },

    /** Cancelling a finished batch changes nothing (as Gemini: the call succeeds). */
    cancel(project: string, name: string): Record<string, unknown> {
      const b = find(project, name);
      if (!isFinal(b.state)) {
        store.transition(b.id, ['BATCH_STATE_PENDING', 'BATCH_STATE_RUNNING'], {
          state: 'BATCH_STATE_CANCELLED',
          updateTime: now(),
          endTime: now(),
        });
        queue.cancel(b.id);
      }
      return {};
    },

    delete(project: string, name: string): Record<string, unknown> {
      const b = find(project, name);
      queue.cancel(b.id);
      store.deleteBatch(project, b.id);
      return {};
    },

    /** Batches as the playground lists them: every state, newest first, with progress. */
    summaries(project: string, limit: number) {
      return store.listBatches(project, limit).batches.map((b) => ({ ...b, counts: store.counts(b.id) }));
    },

    isGenerated: (project: string, fileId: string) => store.isGenerated(project, fileId),
  };
}

function pageSizeOf(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_PAGE_SIZE;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw invalidArgument(`Invalid pageSize ${JSON.stringify(raw)}: expected a non-negative integer.`, 'page_size');
  return n === 0 ? DEFAULT_PAGE_SIZE : Math.min(n, MAX_PAGE_SIZE);
}

function decodeToken(token: string): number {
  const [kind, seq] = Buffer.from(token, 'base64url').toString().split(':');
  const n = Number(seq);
  if (kind !== 'batches' || !Number.isInteger(n) || n < 0) throw invalidArgument('Invalid page token.', 'page_token');
  return n;
}
