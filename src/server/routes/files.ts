/**
 * `/{v}/files`: metadata-only create, get, list, delete (and the download stub). Every
 * lookup is scoped to the caller's project; a file that is missing, expired or someone
 * else's is the same 403 PERMISSION_DENIED Gemini answers, never a 404 that would reveal
 * which ids exist. Every success is 200 with a JSON body (delete answers `{}`).
 */
import type { FastifyInstance } from 'fastify';
import type { RouteModule } from '../app.js';
import { fileNotAccessible, invalidArgument } from '../../errors.js';
import { parseFileMetadata, toFileResource, type FilesService } from '../../files/service.js';
import { nextPage, pageRequest, type PageQuery } from '../paging.js';

/** Gemini's page sizes for files.list: 10 by default, at most 100. */
const FILE_PAGES = { fallback: 10, max: 100 };

export function createFileRoutes(files: FilesService): RouteModule {
  return async (app: FastifyInstance) => {
    app.post('/files', async (req) => {
      const rec = await files.create(req.principal.project, parseFileMetadata(req.body));
      return { file: toFileResource(rec, req.publicBase, req.apiVersion) };
    });

    app.get<{ Querystring: PageQuery }>('/files', async (req) => {
      // The cursor is the last listed file's sequence number in the store.
      const { size, cursor } = pageRequest(req.query, 'files', FILE_PAGES);
      const page = await files.list(req.principal.project, { pageSize: size, after: cursor });
      if (page.files.length === 0 && page.nextAfter === undefined) return {};
      return {
        files: page.files.map((f) => toFileResource(f, req.publicBase, req.apiVersion)),
        ...nextPage('files', page.nextAfter),
      };
    });

    app.get<{ Params: { id: string } }>('/files/:id', async (req) => {
      const { id } = req.params;
      const download = /^(.*):download$/.exec(id);
      if (download) {
        const rec = await files.get(req.principal.project, download[1]!);
        throw invalidArgument(
          `Only generated files can be downloaded. The File ${rec.id} was uploaded (source UPLOADED) and cannot be downloaded.`,
        );
      }
      return toFileResource(await files.get(req.principal.project, id), req.publicBase, req.apiVersion);
    });

    app.delete<{ Params: { id: string } }>('/files/:id', async (req) => {
      const { id } = req.params;
      if (id.includes(':')) throw fileNotAccessible(id);
      await files.delete(req.principal.project, id);
      return {};
    });
  };
}
