/**
 * Token and image counts of generateContent, read from what the service produces: the
 * formats of the decoded images once a request is prepared, and the usageMetadata of the
 * answer (the last chunk of a stream carries the final counts). A decorator, so the
 * service itself knows nothing of metrics.
 */
import type { GenerateService, ServiceResponse } from '../generate/service.js';

export interface GenerateMetrics {
  tokens(model: string, input: number, output: number): void;
  image(format: string): void;
}

function usageOf(r: ServiceResponse | undefined): { input: number; output: number } {
  const u = r?.usageMetadata as { promptTokenCount?: number; candidatesTokenCount?: number } | undefined;
  return { input: u?.promptTokenCount ?? 0, output: u?.candidatesTokenCount ?? 0 };
}

export function instrumentGenerate(service: GenerateService, metrics: GenerateMetrics): GenerateService {
  return {
    ...service,
    async prepare(project, model, body) {
      const prepared = await service.prepare(project, model, body);
      for (const turn of prepared.turns) for (const part of turn.parts) if (part.kind === 'image') metrics.image(part.image.format);
      return prepared;
    },
    async generate(prepared, signal) {
      const response = await service.generate(prepared, signal);
      const { input, output } = usageOf(response);
      metrics.tokens(prepared.model.id, input, output);
      return response;
    },
    async *stream(prepared, signal) {
      let last: ServiceResponse | undefined;
      try {
        for await (const chunk of service.stream(prepared, signal)) {
          last = chunk;
          yield chunk;
        }
      } finally {
        // A stream cut short still used the prompt and the tokens sent so far.
        if (last) {
          const { input, output } = usageOf(last);
          metrics.tokens(prepared.model.id, input, output);
        }
      }
    },
  };
}
