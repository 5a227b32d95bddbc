/**
 * `/{v}/files`: metadata-only create, get, list, delete (and the download stub). Every
 * lookup is scoped to the caller's project; a file that is missing, expired or someone
 * else's is the same 403 PERMISSION_DENIED Gemini answers, never a 404 that would reveal
 * which ids exist. Every success is 200 with a JSON body (delete answers `{}`).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RouteModule } from '../app.js';
import { fileNotAccessible, invalidArgument } from '../../errors.js';
import { parseFileMetadata, toFileResource, type FilesService } from '../../files/service.js';

interface ListQuery {
  pageSize?: string;
  pageToken?: string;
  page_size?: string;
  page_token?: string;
}

function versionOf(req: FastifyRequest): string {
  return /^\/([^/]+)\//.exec(req.routeOptions.url ?? req.url)?.[1] ?? 'v1beta';
}

function parsePageSize(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw invalidArgument(`Invalid pageSize ${JSON.stringify(raw)}: expected a non-negative integer.`, 'pageSize');
  return n;
}

export function createFileRoutes(files: FilesService): RouteModule {
  return async (app: FastifyInstance) => {
    app.post('/files', async (req) => {
      const rec = files.create(req.principal.project, parseFileMetadata(req.body));
      return { file: toFileResource(rec, req.publicBase, versionOf(req)) };
    });

    app.get<{ Querystring: ListQuery }>('/files', async (req) => {
      const q = req.query;
      const page = files.list(req.principal.project, {
        pageSize: parsePageSize(q.pageSize ?? q.page_size),
        pageToken: q.pageToken ?? q.page_token,
      });
      if (page.files.length === 0 && page.nextPageToken === undefined) return {};
      const version = versionOf(req);
      return {
        files: page.files.map((f) => toFileResource(f, req.publicBase, version)),
        ...(page.nextPageToken !== undefined ? { nextPageToken: page.nextPageToken } : {}),
      };
    });

    app.get<{ Params: { id: string } }>('/files/:id', async (req) => {
      const { id } = req.params;
      const download = /^(.*):download$/.exec(id);
      if (download) {
        const rec = files.get(req.principal.project, download[1]!);
        throw invalidArgument(
          `Only generated files can be downloaded. The File ${rec.id} was uploaded (source UPLOADED) and cannot be downloaded.`,
        );
      }
      return toFileResource(files.get(req.principal.project, id), req.publicBase, versionOf(req));
    });

    app.delete<{ Params: { id: string } }>('/files/:id', async (req) => {
      const { id } = req.params;
      if (id.includes(':')) throw fileNotAccessible(id);
      await files.delete(req.principal.project, id);
      return {};
    });
  };
}
