// Entry of a hub model worker when running from TypeScript sources (tsx, vitest). In a
// worker thread on Node 20, tsx's `--import` hooks transform `require`d .ts files but not
// ESM-imported ones, so the worker is required from this CommonJS file. Built code starts
// worker.js directly and never uses this file.
require(require('node:worker_threads').workerData.__entry);
