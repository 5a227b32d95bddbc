/** GET /{v}/models (paged) and GET /{v}/models/{model}, in Gemini's Model shape. */
import type { FastifyInstance } from 'fastify';
import type { ModelCatalog } from '../../engine/model-catalog.js';
import type { ModelEntry } from '../../seam/model.js';
import type { CapabilityRoute } from '../../engine/router.js';

/** Which providers serve each capability of a model (from the router). */
export type RoutesOf = (modelId: string) => CapabilityRoute[];
import type { RouteModule } from '../app.js';
import { invalidArgument, notFound } from '../../errors.js';
import { nextPage, pageRequest, type PageQuery } from '../paging.js';

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
    app.get<{ Querystring: PageQuery }>('/models', async (req) => {
      // The cursor is an offset into the catalogue.
      const { size, cursor: start = 0 } = pageRequest(req.query, 'models', { fallback: 50, max: 1000 });
      const all = catalog.list();
      if (start > all.length) throw invalidArgument('Invalid page token.', 'pageToken');
      const page = all.slice(start, start + size).map((m) => toWireModel(m, routesOf));
      return { ...(page.length ? { models: page } : {}), ...nextPage('models', start + size < all.length ? start + size : undefined) };
    });

    app.get<{ Params: { model: string } }>('/models/:model', async (req) => {
      const m = catalog.find(req.params.model);
      if (!m) throw notFound(`models/${req.params.model} is not found for API version ${req.apiVersion}.`);
      return toWireModel(m, routesOf);
    });
  };
}
