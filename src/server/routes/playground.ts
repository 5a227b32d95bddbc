/**
 * The web playground: its built files (dist/web, made by `npm run build`) at `/`, and the
 * one route it needs that the Gemini API lacks, an upright preview of an image.
 *
 * Why a preview route: browsers cannot show HEIC/HEIF (nor TIFF), and they apply EXIF
 * orientation by their own rules. Boxes are drawn in the frame the model saw, so the
 * picture under them must come from the same decoder: `images.decode` is the request
 * path's decode (and its cache), so the preview costs nothing extra when the image is
 * then asked about.
 *
 * Static files skip the API-key check (a browser cannot send a header when it loads a
 * page); the preview keeps it, like every route that decodes caller data.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import sharp from 'sharp';
import type { FilesService } from '../../files/service.js';
import type { ImageSource } from '../../generate/inputs.js';
import type { DecodedImage } from '../../media/decode.js';
import type { RouteModule } from '../app.js';
import { invalidArgument } from '../../errors.js';

/** dist/web beside dist/server (built) or src/server (tsx): both are two levels below the repo root. */
export const DEFAULT_WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'dist', 'web');

/** Longest side of a preview: enough for a sharp overlay on any screen, small enough to send quickly. */
export const PREVIEW_MAX_SIDE = 2048;

export interface PlaygroundOptions {
  images: ImageSource;
  files: Pick<FilesService, 'openForGeneration'>;
  maxPixels: number;
  /** Largest image body the preview accepts (the request limit: what could be sent inline anyway). */
  maxBytes: number;
  /** The built web app; DEFAULT_WEB_DIR unless a test points elsewhere. */
  webDir?: string;
}

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Ocellus playground not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>The playground is not built</h1>
<p>This server has no <code>dist/web</code>. Run <code>npm run build</code> in the Ocellus checkout
(<code>npm install</code> does it too), then restart the server.</p>
<p>The Gemini API itself is served as usual under <code>/v1beta</code> and <code>/v1</code>.</p>
</body></html>
`;

export function createPlaygroundRoutes(opts: PlaygroundOptions): RouteModule {
  const webDir = opts.webDir ?? DEFAULT_WEB_DIR;
  return async (app: FastifyInstance) => {
    await app.register(async (scope) => {
      // @fastify/static takes no per-route config, so its routes are marked here as they are added.
      scope.addHook('onRoute', (route) => {
        route.config = { ...(route.config as object | undefined), skipAuth: true };
      });
      if (existsSync(path.join(webDir, 'index.html'))) {
        await scope.register(fastifyStatic, {
          root: webDir,
          prefix: '/',
          // The files are fixed once built: one route per file, anything else is the API's 404.
          wildcard: false,
          setHeaders(reply, filePath) {
            // Vite puts a content hash in every asset name; index.html must be revalidated to pick up a new build.
            const hashed = filePath.includes(`${path.sep}assets${path.sep}`);
            reply.header('cache-control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
          },
        });
      } else {
        scope.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(NOT_BUILT_PAGE));
      }
    });

    await app.register(async (scope) => {
      // The body is the image itself, whatever Content-Type the browser gave it.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: opts.maxBytes }, (_req, body, done) => done(null, body));

      scope.post('/playground/preview', { bodyLimit: opts.maxBytes }, async (req, reply) => {
        const bytes = req.body;
        if (!Buffer.isBuffer(bytes) || bytes.length === 0)
          throw invalidArgument('The request body must be the bytes of an image (PNG, JPEG, WEBP, HEIC, HEIF, GIF, AVIF, TIFF).');
        const image = await opts.images.decode(bytes, { partLabel: 'The image', maxPixels: opts.maxPixels });
        return sendPreview(reply, image);
      });

      scope.get<{ Params: { id: string } }>('/playground/preview/files/:id', async (req, reply) => {
        const file = await opts.files.openForGeneration(req.principal.project, `files/${req.params.id}`);
        const image =
          opts.images.cached(file.sha256Hex) ??
          (await opts.images.decode(await readFile(file.path), { partLabel: `files/${req.params.id}`, maxPixels: opts.maxPixels, hash: file.sha256Hex }));
        return sendPreview(reply, image);
      });
    });
  };
}

/** Upright JPEG of the decoded pixels (alpha already flattened onto white, as the model saw it). */
async function sendPreview(reply: FastifyReply, image: DecodedImage): Promise<FastifyReply> {
  const jpeg = await sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE, { fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 85 })
    .toBuffer();
  return reply
    .type('image/jpeg')
    .header('cache-control', 'no-store')
    // The size the model saw, which the preview may be scaled down from.
    .header('x-ocellus-image-width', String(image.width))
    .header('x-ocellus-image-height', String(image.height))
    // What to declare as the part's mimeType: browsers leave File.type empty for HEIC and others.
    .header('x-ocellus-image-mime-type', image.mimeType)
    .send(jpeg);
}
