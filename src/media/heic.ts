/**
 * HEVC-coded HEIF (what iPhones write) → RGBA, via heic-decode (libheif + libde265
 * compiled to wasm). sharp's prebuilt libvips reads HEIF headers but has no HEVC decoder
 * (patents), so only the pixel decode comes here; dimensions, alpha and the pixel-limit
 * check come from sharp's header read first.
 *
 * Orientation: libheif applies the container's `irot`/`imir` transforms while decoding
 * (heif_decode_image with default options), so the RGBA is already upright and its size
 * matches sharp's header size (libvips applies the same transforms). HEIF keeps
 * orientation in the container; an EXIF orientation tag inside a HEIF is informational and
 * must not be applied on top (Apple writes both; applying both would rotate twice).
 *
 * Off the event loop: the wasm decode is synchronous and slow (measured ~0.7 s for a
 * 12 MP photo, ~28 ms for 0.4 MP), so it runs in one worker thread; the server keeps
 * answering meanwhile. One worker, not a pool: the machine has two cores and libvips uses
 * the others. The worker is started on the first HEIC (servers that never see one never pay
 * the ~100 ms start-up), holds the event loop open only while a decode is pending, and is
 * replaced if it dies. It is the one process-wide resource in this layer, like sharp's
 * libvips thread pool: stateless for callers, so it is not threaded through every call.
 * The worker's code is plain CommonJS passed as a string, so it runs the same under tsx,
 * vitest and the built dist/ without a separate build step.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export interface RgbaImage {
  width: number;
  height: number;
  /** Interleaved RGBA, width*height*4 bytes. */
  data: Buffer;
}

interface Reply {
  id: number;
  width?: number;
  height?: number;
  data?: Uint8ClampedArray;
  error?: string;
}

// libheif-js reports parse failures with console.log and then returns no image; inside the
// worker those lines are captured (not printed) and become the error message instead.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const decode = require(workerData.heicDecodePath);
let logged = [];
const show = (a) => {
  if (a === null || typeof a !== 'object') return String(a);
  if (typeof a.message === 'string') return a.message;
  try { return JSON.stringify(a); } catch { return String(a); }
};
console.log = console.warn = console.error = (...args) => { logged.push(args.map(show).filter((s) => s && s !== '{}').join(' ')); };
parentPort.on('message', async ({ id, bytes }) => {
  logged = [];
  try {
    const { width, height, data } = await decode({ buffer: bytes });
    parentPort.postMessage({ id, width, height, data }, [data.buffer]);
  } catch (err) {
    const detail = logged.length ? ' (' + logged.join('; ') + ')' : '';
    parentPort.postMessage({ id, error: String((err && err.message) || err) + detail });
  }
});
`;

class HeicWorker {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();

  decode(bytes: Uint8Array): Promise<Reply> {
    const worker = this.start();
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      if (this.pending.size === 0) worker.ref();
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, bytes });
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const heicDecodePath = createRequire(import.meta.url).resolve('heic-decode');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { heicDecodePath } });
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      waiter?.resolve(reply);
    });
    const fail = (err: Error): void => {
      if (this.worker === worker) this.worker = undefined; // the next decode starts a fresh one
      for (const waiter of this.pending.values()) waiter.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`HEIC decoder thread exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }
}

const heicWorker = new HeicWorker();

/** Decodes the first top-level image of a HEVC HEIF (the primary image in practice). Rejects with libheif's complaint on bad data. */
export async function decodeHevcHeif(bytes: Uint8Array): Promise<RgbaImage> {
  const reply = await heicWorker.decode(bytes);
  if (reply.error !== undefined) throw new Error(reply.error);
  const { width = 0, height = 0, data } = reply;
  if (!data || data.length !== width * height * 4)
    throw new Error(`HEIF decoder returned ${data?.length ?? 0} bytes for ${width}x${height}`);
  return { width, height, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) };
}
