/** GET /{v}/models (paged) and GET /{v}/models/{model}, in Gemini's Model shape. */
import type { FastifyInstance } from 'fastify';
import type { ModelCatalog, ModelEntry } from '../../engine/models.js';
import type { CapabilityRoute } from '../../engine/router.js';

/** Which providers serve each capability of a model (from the router). */
export type RoutesOf = (modelId: string) => CapabilityRoute[];
import type { RouteModule } from '../app.js';
import { invalidArgument, notFound } from '../../errors.js';
import { decodePageToken, encodePageToken, parsePageSize } from '../paging.js';

/**
 * Gemini's Model shape, plus `ocellusCapabilities`: what this server really can do for the
 * model and who serves it. The SDKs copy known fields only, so the extra one reaches curl
 * and REST clients and is ignored by the SDKs.
 */
export function toWireModel(m: ModelEntry, routesOf?: RoutesOf) {
  const routes = routesOf?.(m.id);
  const served = routes?.filter((r) => r.providers.length > 0);
  const note = served ? ` Capabilities: ${served.map((r) => `${r.capability} (${r.providers.join(' → ')})`).join(', ') || 'none'}.` : '';
  return {
    name: `models/${m.id}`,
    baseModelId: m.id,
    version: m.version,
    displayName: m.displayName,
    description: m.description + note,
    inputTokenLimit: m.inputTokenLimit,
    outputTokenLimit: m.outputTokenLimit,
    supportedGenerationMethods: ['generateContent', 'streamGenerateContent', 'countTokens'],
    temperature: 1,
    maxTemperature: 2,
    topP: 0.95,
    topK: 64,
    thinking: m.thinking,
    ...(routes ? { ocellusCapabilities: Object.fromEntries(routes.map((r) => [r.capability, r.providers])) } : {}),
  };
}

export function createModelRoutes(catalog: ModelCatalog, routesOf?: RoutesOf): RouteModule {
  return (app: FastifyInstance) => {
    app.get<{ Querystring: { pageSize?: string; pageToken?: string; page_size?: string; page_token?: string } }>('/models', async (req) => {
      const size = parsePageSize(req.query.pageSize ?? req.query.page_size, 50, 1000);
      const token = req.query.pageToken ?? req.query.page_token;
      const start = token ? decodePageToken(token, 'models') : 0;
      const all = catalog.list();
      if (start > all.length) throw invalidArgument('Invalid page token.', 'page_token');
      const page = all.slice(start, start + size).map((m) => toWireModel(m, routesOf));
      const next = start + size < all.length ? encodePageToken('models', start + size) : undefined;
      return { ...(page.length ? { models: page } : {}), ...(next ? { nextPageToken: next } : {}) };
    });

    app.get<{ Params: { model: string } }>('/models/:model', async (req) => {
      const version = req.url.split('/')[1] ?? 'v1beta';
      const m = catalog.find(req.params.model);
      if (!m) throw notFound(`models/${req.params.model} is not found for API version ${version}.`);
      return toWireModel(m, routesOf);
    });
  };
}
