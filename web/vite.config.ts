/**
 * Builds the playground into dist/web, which the server serves at `/` (src/server/routes/playground.ts).
 * Relative asset URLs (`base: './'`) keep it working behind a proxy that adds a path prefix.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: './',
  // Nothing from a CDN at run time: everything the page needs is in the bundle.
  publicDir: false,
  build: {
    outDir: here('../dist/web'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    reportCompressedSize: false,
  },
  server: { fs: { allow: [here('..')] } },
  logLevel: 'warn',
});
