/**
 * The Batch API independent of HTTP: create (inline requests or a JSONL file), get, list,
 * cancel and delete, over a JobStore and a BatchQueue. Every lookup is scoped to the
 * caller's project; someone else's batch is as missing as one that never was.
 */
import { randomBytes } from 'node:crypto';
import { notFound } from '../errors.js';
import type { BatchFiles, ResolveModel } from './ports.js';
import type { BatchQueue } from './queue.js';
import { ACTIVE_STATES, isFinal, type BatchRecord, type JobStore } from './store.js';
import { parseCreateBody, parseJsonlInput, toOperation } from './wire.js';

/** Gemini's page sizes for batches.list: 10 by default, at most 100. */
export const BATCH_PAGES = { fallback: 10, max: 100 };

export interface BatchServiceDeps {
  store: JobStore;
  queue: BatchQueue;
  files: BatchFiles;
  resolveModel: ResolveModel;
  now?: () => number;
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

  const render = async (b: BatchRecord, withResults: boolean) =>
    toOperation(b, await store.counts(b.id), withResults && b.input.kind === 'inline' ? await store.results(b.id) : undefined);

  const find = async (project: string, name: string): Promise<BatchRecord> => {
    const id = name.replace(/^batches\//, '');
    const b = /^[a-z0-9-]{1,64}$/.test(id) ? await store.getBatch(project, id) : undefined;
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
      const b = await store.createBatch(
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

    async get(project: string, name: string): Promise<Record<string, unknown>> {
      return render(await find(project, name), true);
    },

    /** One page, newest first, after the cursor (a batch's sequence number) the previous page ended at. */
    async list(project: string, size: number, after: number | undefined): Promise<{ operations: Array<Record<string, unknown>>; nextAfter: number | undefined }> {
      const page = await store.listBatches(project, size, after);
      return { operations: await Promise.all(page.batches.map((b) => render(b, false))), nextAfter: page.nextAfter };
    },

    /**
     * Cancelling a finished batch changes nothing (as Gemini: the call succeeds). Replicas
     * running its requests see the state at their next check (queue.ts `watchMs`).
     */
    async cancel(project: string, name: string): Promise<Record<string, unknown>> {
      const b = await find(project, name);
      if (!isFinal(b.state)) {
        await store.transition(b.id, ACTIVE_STATES, { state: 'BATCH_STATE_CANCELLED', updateTime: now(), endTime: now() });
        queue.cancel(b.id);
      }
      return {};
    },

    async delete(project: string, name: string): Promise<Record<string, unknown>> {
      const b = await find(project, name);
      queue.cancel(b.id);
      await store.deleteBatch(project, b.id);
      return {};
    },

    /** Batches as the playground lists them: every state, newest first, with progress. */
    async summaries(project: string, limit: number) {
      const { batches } = await store.listBatches(project, limit);
      return Promise.all(batches.map(async (b) => ({ ...b, counts: await store.counts(b.id) })));
    },

    isGenerated: (project: string, fileId: string) => store.isGenerated(project, fileId),
  };
}
