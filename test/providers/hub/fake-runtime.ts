/** A stand-in adapter runtime for worker tests: no weights, same protocol. */
import type { AdapterRuntime, RuntimeLoader } from '../../../src/providers/hub/adapters/types.js';

export const loadFake: RuntimeLoader = async (_tf, opts) => {
  const runtime: AdapterRuntime = {
    async call(method, args, ctl) {
      if (method === 'echo') return { args, opts, bytes: (args as { image?: { rgb: Uint8Array } }).image?.rgb.length };
      if (method === 'stream') {
        for (const w of ['A ', 'dog ', 'sits.']) ctl.emit(w);
        return 'A dog sits.';
      }
      if (method === 'slow')
        return new Promise((resolve) => {
          ctl.signal.addEventListener('abort', () => resolve('stopped'));
        });
      if (method === 'crash') process.exit(3);
      throw new Error(`no method ${method}`);
    },
    async dispose() {},
  };
  return runtime;
};

export const loadBroken: RuntimeLoader = async () => {
  throw new Error('model.onnx is not a valid ONNX file');
};
