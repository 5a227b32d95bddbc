/**
 * `files.download`: `GET /{v}/files/{id}:download?alt=media` (the path both SDKs call) and
 * `GET /download/{v}/files/{id}:download` (the media path of Google's REST surface). Only
 * files the server generated (batch responses files) have bytes to give back, as on Gemini;
 * an uploaded file gets Gemini's refusal, a missing one the Files API's 403.
 *
 * A regex route on the `:download` suffix: find-my-way tries it before files.ts's plain
 * `files/:id` whatever the registration order.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { BatchFiles } from '../../batch/ports.js';
import { invalidArgument } from '../../errors.js';
import type { RouteModule } from '../app.js';

export interface DownloadDeps {
  files: BatchFiles;
  isGenerated(project: string, fileId: string): Promise<boolean>;
}

const PATH = '/files/:id(^[a-z0-9-]{1,40}:download$)';

async function download(deps: DownloadDeps, req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) {
  const id = req.params.id.slice(0, -':download'.length);
  const project = req.principal.project;
  const file = await deps.files.open(project, id); // the Files API's 403 when it is not there
  if (!(await deps.isGenerated(project, id))) {
    file.stream.destroy();
    throw invalidArgument(`Only generated files can be downloaded. The File ${id} was uploaded (source UPLOADED) and cannot be downloaded.`);
  }
  return reply.type(file.mimeType).header('content-length', String(file.sizeBytes)).send(file.stream);
}

/** Under /{v}/ (registered with the API routes). */
export function createDownloadRoutes(deps: DownloadDeps): RouteModule {
  return (app: FastifyInstance) => {
    app.get<{ Params: { id: string } }>(PATH, (req, reply) => download(deps, req, reply));
  };
}

/** At the root: /download/{v}/files/{id}:download. */
export function createMediaDownloadRoutes(deps: DownloadDeps): RouteModule {
  return (app: FastifyInstance) => {
    for (const version of ['v1beta', 'v1', 'v1alpha'])
      app.get<{ Params: { id: string } }>(`/download/${version}${PATH}`, (req, reply) => download(deps, req, reply));
  };
}
