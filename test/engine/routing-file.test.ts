import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { effectiveRouting, parseRoutingFile, routeFor, RoutingFileError } from '../../src/engine/routing-file.js';

const yaml = `
providers:
  ollama: { type: openai, baseUrl: "http://127.0.0.1:11434/v1", model: "qwen2.5vl:7b", apiKey: "env:OLLAMA_KEY" }
  florence: { type: hub, model: onnx-community/Florence-2-base-ft }
  gsam: { type: grounded-sam, grounding: florence }
models:
  "*": { answer: [ollama, offline] }
  gemini-2.5-pro: { all: [ollama], segment: [gsam, offline] }
`;

describe('routing file', () => {
  it('reads YAML, resolves env: values, and routes per model, then *, then offline', () => {
    const file = parseRoutingFile(yaml, 'routes.yaml', { OLLAMA_KEY: 'sekret' });
    expect(file.providers.ollama).toMatchObject({ type: 'openai', apiKey: 'sekret' });
    expect(routeFor(file, 'gemini-2.5-pro', 'segment')).toEqual(['gsam', 'offline']);
    expect(routeFor(file, 'gemini-2.5-pro', 'detect')).toEqual(['ollama']); // `all` covers the rest
    expect(routeFor(file, 'gemini-2.5-flash', 'answer')).toEqual(['ollama', 'offline']);
    expect(routeFor(file, 'gemini-2.5-flash', 'detect')).toEqual(['offline']);
  });

  it('reads JSON too', () => {
    const file = parseRoutingFile('{"models":{"*":{"all":["offline"]}}}', 'r.json', {});
    expect(routeFor(file, 'x', 'classify')).toEqual(['offline']);
  });

  it('names the missing environment variable', () => {
    expect(() => parseRoutingFile(yaml, 'routes.yaml', {})).toThrow(/apiKey: environment variable OLLAMA_KEY is not set/);
  });

  it('refuses a route to an undefined provider, naming where', () => {
    expect(() => parseRoutingFile('models: { "*": { detect: [owl] } }', 'r.yaml', {})).toThrow(
      /models\.\*\.detect names provider "owl", which is not defined under providers/,
    );
  });

  it('refuses unknown fields, bad provider types and a grounded-sam over nothing', () => {
    expect(() => parseRoutingFile('models: { "*": { caption: [offline] } }', 'r', {})).toThrow(RoutingFileError);
    expect(() => parseRoutingFile('providers: { x: { type: ollama } }', 'r', {})).toThrow(/providers\.x/);
    expect(() => parseRoutingFile('providers: { g: { type: grounded-sam, grounding: nope } }', 'r', {})).toThrow(/grounding names provider "nope"/);
    expect(() => parseRoutingFile('providers: { offline: { type: hub, model: a/b } }', 'r', {})).toThrow(/built-in offline engine/);
  });

  it('says when the text is not YAML', () => {
    expect(() => parseRoutingFile('providers: [unclosed', 'r.yaml', {})).toThrow(/not valid YAML or JSON/);
  });

  it("checks each provider's fields with the schema from its own folder, naming the field", () => {
    expect(() => parseRoutingFile('providers: { h: { type: hub, model: a/b, adapter: yolo } }', 'r', {})).toThrow(/providers\.h\.adapter/);
    expect(() => parseRoutingFile('providers: { o: { type: openai, baseUrl: "not a url", model: m } }', 'r', {})).toThrow(/providers\.o\.baseUrl/);
    expect(() => parseRoutingFile('providers: { g: { type: gemini, apiKey: k, timeoutMs: -1 } }', 'r', {})).toThrow(/providers\.g\.timeoutMs/);
    expect(() => parseRoutingFile('providers: { g: { type: gemini, apiKey: k, capabilities: [dance] } }', 'r', {})).toThrow(/providers\.g\.capabilities\.0/);
  });
});

describe('effectiveRouting', () => {
  it('with no file and no flags routes everything to the offline engine', () => {
    const routing = effectiveRouting({}, {});
    expect(routing).toEqual({ providers: {}, models: {} });
    expect(routeFor(routing, 'gemini-2.5-flash', 'segment')).toEqual(['offline']);
  });

  it('puts the quick-flag providers before the offline engine where the file routes nothing, keeping its own routes', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ocellus-routes-'));
    try {
      const file = path.join(dir, 'routes.yaml');
      writeFileSync(file, 'models:\n  "*": { detect: [offline] }\n');
      const routing = effectiveRouting({ routesFile: file, gemini: { apiKey: 'k' }, openai: { baseUrl: 'http://127.0.0.1:1/v1', model: 'm' } }, {});
      expect(routing.providers.gemini).toEqual({ type: 'gemini', apiKey: 'k' });
      expect(routeFor(routing, 'x', 'answer')).toEqual(['openai', 'gemini', 'offline']);
      expect(routeFor(routing, 'x', 'segment')).toEqual(['gemini', 'offline']); // the OpenAI server does not segment
      expect(routeFor(routing, 'x', 'detect')).toEqual(['offline']); // the file's own route wins
      writeFileSync(file, 'providers:\n  gemini: { type: gemini, apiKey: other }\n');
      expect(() => effectiveRouting({ routesFile: file, gemini: { apiKey: 'k' } }, {})).toThrow(/defines a provider "gemini", which the --gemini-… flags also define/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
