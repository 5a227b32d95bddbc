/**
 * The layers of src/ and the imports each may make, written once. `npm test` enforces them
 * (test/architecture/layers.test.ts cruises src/ with this file and fails on any violation);
 * docs/architecture.md draws the same picture for people.
 *
 * Lower layers never know about higher ones: the HTTP layer (server/) sits on top and only
 * the entry points (main.ts, cli/) assemble it; errors.ts sits at the bottom and imports
 * nothing; providers see the world through the seam (seam/) and shared utilities only.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'server-only-from-entry-points',
      comment:
        'src/server/ is the HTTP layer: only server/ itself, main.ts and cli/ (which starts a local server) may import it. ' +
        'Lower layers throw catalogue errors (errors.ts); server/ alone turns them into responses.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(server/|cli/|main\\.ts$)' },
      to: { path: '^src/server/' },
    },
    {
      name: 'errors-imports-nothing',
      comment: 'errors.ts is below every layer, so every layer can throw its errors: it imports nothing, not even Node built-ins.',
      severity: 'error',
      from: { path: '^src/errors\\.ts$' },
      to: {},
    },
    {
      name: 'providers-only-seam-and-shared',
      comment:
        'Providers implement the seam (seam/) with shared utilities (media/, vision/, wire/, errors.ts) and nothing else of src/: ' +
        'the request path above them (generate/, files/, engine/, server/) is not theirs to reach into, and each provider ' +
        'keeps its own config schema in its folder.',
      severity: 'error',
      from: { path: '^src/providers/' },
      to: { path: '^src/', pathNot: '^src/(providers/|seam/|media/|vision/|wire/|errors\\.ts$)' },
    },
    {
      name: 'seam-only-shared-types',
      comment: 'The provider seam is types both sides share: it may name errors, media, wire and vision types, nothing else of src/.',
      severity: 'error',
      from: { path: '^src/seam/' },
      to: { path: '^src/', pathNot: '^src/(seam/|media/|wire/|vision/|errors\\.ts$)' },
    },
    {
      name: 'vision-below-the-request-path',
      comment: 'vision/ computes on pixels; it never knows the engine, the generate service or HTTP.',
      severity: 'error',
      from: { path: '^src/vision/' },
      to: { path: '^src/(engine|generate|server)/' },
    },
    {
      name: 'no-cycles-between-folders',
      comment: 'Folders form layers: if a imports b, nothing in b imports (even indirectly) anything in a.',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-module-cycles',
      comment:
        'No module imports itself through others, type-only imports included: a cycle inside a folder hides a ' +
        'missing module (shared types belong in a module of their own), and the folder rule above does not see ' +
        'the modules at the root of src/ (config.ts, main.ts, errors.ts).',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'imports-resolve',
      comment: 'An import the cruiser cannot resolve is an arrow no rule above can see: every import must resolve.',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.cjs', '.mjs', '.json'],
    },
  },
};
