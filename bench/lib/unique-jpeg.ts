/**
 * JPEGs that are new to the server every time without re-encoding them: the same pixels with
 * a comment segment that differs, so every request decodes and nothing the server keeps by
 * image hash answers it. `uniqueJpeg` makes one such copy; for the load generator, a slot in
 * the comment is rewritten in place in the request's base64 before each send
 * (bench/lib/http-load.ts `mutate`).
 */
import { randomBytes } from 'node:crypto';

/**
 * The JPEG with a 9-byte comment segment (its counter) right after the start marker: the
 * same pixels, different bytes, so the server's decode cache (keyed by content hash) misses
 * and every request decodes, as a new photo would.
 */
export function uniqueJpeg(jpeg: Buffer, counter: number): Buffer {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error('uniqueJpeg: not a JPEG');
  const comment = Buffer.alloc(13);
  comment.writeUInt16BE(0xfffe, 0);
  comment.writeUInt16BE(11, 2); // length counts itself and the 9 payload bytes
  comment.write(counter.toString(36).padStart(9, '0').slice(-9), 4, 'latin1');
  return Buffer.concat([jpeg.subarray(0, 2), comment, jpeg.subarray(2)]);
}

const SLOT = 12; // bytes of the per-request unique id inside the JPEG

/**
 * A JPEG with a COM segment holding a 12-byte slot that starts at a multiple of 3 bytes, so
 * its base64 is 16 characters that can be rewritten in place without touching the rest of
 * the encoded image. The COM segment goes after JFIF's APP0 (which must come first).
 */
function jpegWithSlot(jpeg: Buffer): { bytes: Buffer; slot: number } {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error('not a JPEG');
  let at = 2;
  if (jpeg[2] === 0xff && jpeg[3] === 0xe0) at = 4 + jpeg.readUInt16BE(4);
  const payloadStart = at + 4;
  const slot = Math.ceil(payloadStart / 3) * 3;
  const payload = Buffer.alloc(slot - payloadStart + SLOT, 0x20);
  const segment = Buffer.alloc(4);
  segment.writeUInt16BE(0xfffe, 0);
  segment.writeUInt16BE(payload.length + 2, 2);
  return { bytes: Buffer.concat([jpeg.subarray(0, at), segment, payload, jpeg.subarray(at)]), slot };
}

/** A request body with the slot's base64 at `slotChars`. */
export interface SlottedBody {
  body: Buffer;
  /** Offset in `body` of the 16 base64 characters of the slot, for unique requests. */
  slotChars?: number;
}

/** A request body made by `build` around `jpeg` with a slot added (jpegWithSlot), and where the slot's base64 is. */
export function slottedBody(jpeg: Buffer, build: (jpegWithSlot: Buffer) => string): Required<SlottedBody> {
  const { bytes, slot } = jpegWithSlot(jpeg);
  const data = bytes.toString('base64');
  const body = Buffer.from(build(bytes));
  const dataAt = body.indexOf(data.slice(0, 64));
  if (dataAt < 0) throw new Error('base64 not found in body');
  return { body, slotChars: dataAt + (slot / 3) * 4 };
}

const RUN_ID = randomBytes(4);
let uniqueCounter = 0n;

/**
 * Rewrites the slot's base64 with a new 12-byte id (4 random bytes of this run + a
 * counter). `slotChars` is relative to the body, which ends the request.
 */
export function makeMutator(p: SlottedBody): ((request: Buffer) => void) | undefined {
  const { slotChars } = p;
  if (slotChars === undefined) return undefined;
  const fromEnd = p.body.length - slotChars;
  const id = Buffer.alloc(SLOT);
  RUN_ID.copy(id, 0);
  return (request) => {
    id.writeBigUInt64BE(++uniqueCounter, 4);
    request.write(id.toString('base64'), request.length - fromEnd, 16, 'latin1');
  };
}

