/**
 * The Batch API: `POST models/{model}:batchGenerateContent`, `GET batches`,
 * `GET batches/{id}`, `POST batches/{id}:cancel`, `DELETE batches/{id}`.
 *
 * The create route shares its path segment with generateContent (`models/:target`), so it
 * is a regex route on the method suffix: find-my-way tries it before the plain parameter
 * whatever the registration order, and generate.ts keeps every other method.
 */
import type { FastifyInstance } from 'fastify';
import { BATCH_PAGES, type BatchService } from '../../batch/service.js';
import { notFound } from '../../errors.js';
import type { RouteModule } from '../app.js';
import { nextPage, pageRequest, type PageQuery } from '../paging.js';

export function createBatchRoutes(batches: BatchService): RouteModule {
  return (app: FastifyInstance) => {
    app.post<{ Params: { target: string } }>('/models/:target(^.+:batchGenerateContent$)', async (req) => {
      const name = req.params.target.slice(0, -':batchGenerateContent'.length);
      return batches.create(req.principal.project, name, req.apiVersion, req.body);
    });

    app.get<{ Querystring: PageQuery }>('/batches', async (req) => {
      // The cursor is the last listed batch's sequence number in the store.
      const { size, cursor } = pageRequest(req.query, 'batches', BATCH_PAGES);
      const page = await batches.list(req.principal.project, size, cursor);
      if (page.operations.length === 0 && page.nextAfter === undefined) return {};
      return { operations: page.operations, ...nextPage('batches', page.nextAfter) };
    });

    app.get<{ Params: { id: string } }>('/batches/:id', async (req) => batches.get(req.principal.project, req.params.id));

    app.post<{ Params: { target: string } }>('/batches/:target', async (req) => {
      const { target } = req.params;
      if (!target.endsWith(':cancel')) throw notFound(`Method not found: POST batches/${target}`);
      return batches.cancel(req.principal.project, target.slice(0, -':cancel'.length));
    });

    app.delete<{ Params: { id: string } }>('/batches/:id', async (req) => batches.delete(req.principal.project, req.params.id));
  };
}
