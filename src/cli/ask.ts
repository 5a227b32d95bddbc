/**
 * `ocellus ask IMAGE... "PROMPT"`: one question about one or more images, asked over HTTP
 * of a running server (--url) or of one started in-process for the question. The answer
 * streams to stdout as it arrives; --json prints the whole GenerateContentResponse instead;
 * --out draws the answer's boxes and masks over the first image.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { itemsOfAnswer } from '../overlay/answer-items.js';
import { itemsForImage } from '../overlay/draw.js';
import { createGeminiClient, GeminiApiError, type GeminiClient, type GenerateContentResponse } from './gemini-client.js';
import { InputError, openImageInputs, planParts, type ImageInput } from './image-inputs.js';
import { checkLocalServer, startLocalServer, type LocalServer } from './local-server.js';
import { UserError } from './preflight.js';
import { ConfigError } from '../config.js';
import { renderOverlayPng } from './overlay-png.js';
import { createProgress, type Progress } from './progress.js';

export interface AskOptions {
  model: string;
  url?: string;
  key?: string;
  json?: boolean;
  out?: string;
  mime?: string;
  schema?: string;
  upload?: boolean;
}

type Env = Record<string, string | undefined>;

export interface AskDeps {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: Env;
  fetch: typeof fetch;
  startLocalServer: (progress: Progress, env: Env) => Promise<LocalServer>;
}

/** A failure already worded for the user; printed as `ocellus: message`. */
class AskError extends Error {}

const textOf = (r: GenerateContentResponse): string =>
  (r.candidates?.[0]?.content?.parts ?? []).map((p) => (typeof p.text === 'string' ? p.text : '')).join('');

export function registerAsk(program: Command): void {
  program
    .command('ask')
    .description('ask about images: ocellus ask IMAGE... "PROMPT" (paths or http(s) URLs, then the prompt)')
    .argument('<images-and-prompt...>', 'one or more image paths or URLs, then the prompt')
    .addOption(new Option('--model <name>', 'model name').default('gemini-2.5-flash'))
    .addOption(new Option('--url <url>', 'base URL of a running server (OCELLUS_URL); without it a server is started in-process'))
    .addOption(new Option('--key <key>', 'API key (GEMINI_API_KEY or OCELLUS_API_KEY)'))
    .addOption(new Option('--json', 'print the whole GenerateContentResponse as JSON instead of streaming the text'))
    .addOption(new Option('--out <file.png>', "write the first image with the answer's boxes and masks drawn on it"))
    .addOption(new Option('--mime <type>', 'responseMimeType, e.g. application/json'))
    .addOption(new Option('--schema <file>', 'JSON Schema file for the answer (responseJsonSchema; implies --mime application/json)'))
    .addOption(new Option('--upload', 'send every image through the Files API (default: only those over ~15 MB)'))
    .action(async (args: string[], opts: AskOptions) => {
      process.exitCode = await runAsk(args, opts, {
        stdout: process.stdout,
        stderr: process.stderr,
        env: process.env,
        fetch,
        startLocalServer,
      });
    });
}

/** Runs one question; resolves to the exit code (0 answered, 1 anything else). */
export async function runAsk(args: readonly string[], opts: AskOptions, deps: AskDeps): Promise<number> {
  const say = (line: string) => deps.stderr.write(`${line}\n`);
  let inputs: ImageInput[] = [];
  let local: LocalServer | undefined;
  try {
    if (args.length < 2) throw new AskError('give one or more images and then the prompt: ocellus ask photo.jpg "What is in this image?"');
    const prompt = args[args.length - 1]!;
    const generationConfig = await generationConfigOf(opts);
    inputs = await openImageInputs(args.slice(0, -1), deps.fetch);

    const baseUrl = opts.url ?? deps.env.OCELLUS_URL;
    if (!baseUrl) checkLocalServer(deps.env);
    if (!baseUrl) local = await deps.startLocalServer(createProgress({ label: 'models', stream: deps.stderr }), deps.env);
    const client = createGeminiClient({
      baseUrl: baseUrl ?? local!.baseUrl,
      apiKey: opts.key ?? deps.env.GEMINI_API_KEY ?? deps.env.OCELLUS_API_KEY,
      fetch: deps.fetch,
    });

    const imageParts = await partsOf(client, inputs, Boolean(opts.upload), deps.stderr);
    const request = {
      contents: [{ role: 'user', parts: [...imageParts, { text: prompt }] }],
      ...(generationConfig ? { generationConfig } : {}),
    };

    let text: string;
    if (opts.json) {
      const response = await client.generateContent(opts.model, request);
      deps.stdout.write(`${JSON.stringify(response, null, 2)}\n`);
      text = textOf(response);
    } else {
      text = await streamAnswer(client, opts.model, request, deps.stdout);
      if (!text) throw new AskError('the model gave no answer');
    }

    if (opts.out) {
      const first = inputs[0]!;
      const items = itemsForImage(itemsOfAnswer(text), 1);
      const drawn = await renderOverlayPng(await first.bytes(), items, first.name);
      await writeFile(opts.out, drawn.png);
      say(
        items.length === 0
          ? `ocellus: the answer has no box_2d items; wrote ${opts.out} (${drawn.width}x${drawn.height}) without drawings`
          : `ocellus: wrote ${opts.out} (${drawn.width}x${drawn.height}): ${drawn.boxes} box${drawn.boxes === 1 ? '' : 'es'}, ${drawn.masks} mask${drawn.masks === 1 ? '' : 's'}`,
      );
    }
    return 0;
  } catch (err) {
    if (err instanceof GeminiApiError) say(`ocellus: ${err.message} (${err.code} ${err.status})`);
    else if (err instanceof AskError || err instanceof InputError || err instanceof UserError || err instanceof ConfigError) say(`ocellus: ${err.message}`);
    else say(`ocellus: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  } finally {
    await Promise.all(inputs.map((i) => i.close().catch(() => undefined)));
    await local?.close();
  }
}

async function generationConfigOf(opts: AskOptions): Promise<Record<string, unknown> | undefined> {
  let schema: unknown;
  if (opts.schema) {
    let text: string;
    try {
      text = await readFile(opts.schema, 'utf8');
    } catch (err) {
      throw new AskError(`cannot read schema ${opts.schema}: ${(err as Error).message}`);
    }
    try {
      schema = JSON.parse(text);
    } catch (err) {
      throw new AskError(`schema ${opts.schema} is not JSON: ${(err as Error).message}`);
    }
  }
  const mime = opts.mime ?? (schema !== undefined ? 'application/json' : undefined);
  if (mime === undefined) return undefined;
  return { responseMimeType: mime, ...(schema !== undefined ? { responseJsonSchema: schema } : {}) };
}

/** Inline base64 parts for small images, fileData parts (after a resumable upload with a progress bar) for big ones. */
async function partsOf(client: GeminiClient, inputs: readonly ImageInput[], forceUpload: boolean, stderr: NodeJS.WriteStream) {
  const plan = planParts(
    inputs.map((i) => i.size),
    { forceUpload },
  );
  const parts: unknown[] = [];
  for (const [i, input] of inputs.entries()) {
    if (plan[i] === 'inline') {
      parts.push({ inlineData: { mimeType: input.mimeType, data: (await input.bytes()).toString('base64') } });
      continue;
    }
    const progress = createProgress({ label: `upload ${path.basename(input.name)}`, total: input.size, unit: 'bytes', stream: stderr });
    try {
      const file = await client.uploadFile(input, {
        mimeType: input.mimeType,
        displayName: path.basename(input.name),
        onProgress: (sent, total) => progress.update(sent, total),
      });
      progress.done();
      parts.push({ fileData: { mimeType: file.mimeType, fileUri: file.uri } });
    } catch (err) {
      progress.fail((err as Error).message);
      throw err;
    }
  }
  return parts;
}

/** Writes each chunk's text as it arrives; returns the whole text. Says why on stderr-worthy terms when nothing came. */
async function streamAnswer(client: GeminiClient, model: string, request: unknown, stdout: NodeJS.WriteStream): Promise<string> {
  let text = '';
  let finishReason: string | undefined;
  let blockReason: string | undefined;
  for await (const chunk of client.streamGenerateContent(model, request)) {
    const piece = textOf(chunk);
    if (piece) {
      stdout.write(piece);
      text += piece;
    }
    finishReason = chunk.candidates?.[0]?.finishReason ?? finishReason;
    blockReason = chunk.promptFeedback?.blockReason ?? blockReason;
  }
  if (text && !text.endsWith('\n')) stdout.write('\n');
  if (!text && (blockReason || (finishReason && finishReason !== 'STOP')))
    throw new AskError(`the answer was blocked (${blockReason ?? finishReason})`);
  return text;
}
