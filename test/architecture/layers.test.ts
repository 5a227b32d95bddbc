/**
 * The layer rules of .dependency-cruiser.cjs hold for src/, and each rule can fail: a tree
 * with one planted violation per rule is cruised with the same rules file.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeViolation, layerViolations } from './cruise.js';

describe('layer rules (.dependency-cruiser.cjs)', () => {
  it('src/ keeps them', async () => {
    // Each line names the rule and the import that breaks it; the rule's comment in
    // .dependency-cruiser.cjs says why the arrow is not allowed.
    expect((await layerViolations()).map(describeViolation).sort()).toEqual([]);
  });

  describe('a planted violation of each rule is caught', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'ocellus-layers-'));
    afterAll(() => rmSync(root, { recursive: true, force: true }));
    const write = (file: string, text: string): void => {
      mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      writeFileSync(path.join(root, file), text);
    };
    write('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }));
    write('package.json', JSON.stringify({ name: 'planted', type: 'module' }));
    // A clean skeleton: main.ts → server → generate → providers → seam → errors.
    write('src/errors.ts', 'export class ApiError extends Error {}\n');
    write('src/seam/provider.ts', "import type { ApiError } from '../errors.js';\nexport type Provider = { fail(): ApiError };\n");
    write('src/providers/p.ts', "import type { Provider } from '../seam/provider.js';\nexport const p: Provider | undefined = undefined;\n");
    write('src/generate/service.ts', "import { p } from '../providers/p.js';\nexport const service = p;\n");
    write('src/server/app.ts', "import { service } from '../generate/service.js';\nexport const app = service;\n");
    write('src/main.ts', "import { app } from './server/app.js';\nexport default app;\n");
    write('src/cli/serve.ts', "import { app } from '../server/app.js';\nexport const serve = app;\n");

    it('the clean skeleton passes', async () => {
      expect((await layerViolations(root)).map(describeViolation)).toEqual([]);
    });

    /** Per rule: files added to (or replacing in) the clean skeleton, and the violation expected. */
    const planted: Array<[rule: string, files: Record<string, string>, expected: string]> = [
      ['server-only-from-entry-points', { 'src/wire/w.ts': "import { app } from '../server/app.js';\nexport const w = app;\n" }, 'src/wire/w.ts → src/server/app.ts'],
      ['errors-imports-nothing', { 'src/errors.ts': "import { EventEmitter } from 'node:events';\nexport class ApiError extends EventEmitter {}\n" }, 'src/errors.ts → '],
      ['providers-only-seam-and-shared', { 'src/providers/q.ts': "import { service } from '../generate/service.js';\nexport const q = service;\n" }, 'src/providers/q.ts → src/generate/service.ts'],
      ['seam-only-shared-types', { 'src/engine/e.ts': 'export const e = 1;\n', 'src/seam/plan.ts': "import { e } from '../engine/e.js';\nexport const plan = e;\n" }, 'src/seam/plan.ts → src/engine/e.ts'],
      ['vision-below-the-request-path', { 'src/vision/v.ts': "import { service } from '../generate/service.js';\nexport const v = service;\n" }, 'src/vision/v.ts → src/generate/service.ts'],
      [
        'no-cycles-between-folders',
        {
          'src/media/m.ts': "import { o } from '../overlay/o.js';\nexport const m = () => o;\n",
          'src/overlay/o.ts': "import { m } from '../media/m.js';\nexport const o = () => m;\n",
        },
        'src/media → src/overlay',
      ],
      [
        'no-module-cycles',
        {
          'src/config.ts': "import { v } from './vision/v.js';\nexport const config = () => v;\n",
          'src/vision/v.ts': "import { config } from '../config.js';\nexport const v = () => config;\n",
        },
        'src/config.ts → src/vision/v.ts',
      ],
      [
        'no-module-cycles',
        {
          'src/media/a.ts': "import type { B } from './b.js';\nexport type A = { b?: B };\n",
          'src/media/b.ts': "import type { A } from './a.js';\nexport type B = { a?: A };\n",
        },
        'src/media/a.ts → src/media/b.ts',
      ],
      ['imports-resolve', { 'src/media/r.ts': "import { gone } from './gone.js';\nexport const r = gone;\n" }, 'src/media/r.ts → ./gone.js'],
    ];

    it.each(planted)('%s', async (rule, files, expected) => {
      const original = new Map(Object.keys(files).map((f) => [f, f === 'src/errors.ts' ? 'export class ApiError extends Error {}\n' : undefined]));
      for (const [f, text] of Object.entries(files)) write(f, text);
      try {
        const found = (await layerViolations(root)).map(describeViolation);
        expect(found.filter((v) => v.startsWith(`${rule}: ${expected}`))).toHaveLength(1);
      } finally {
        for (const [f, text] of original) {
          if (text === undefined) rmSync(path.join(root, f));
          else write(f, text);
        }
      }
    });
  });
});
