/**
 * Base64 as the SDKs send it: JS uses the standard alphabet, Python the URL-safe one
 * (`-`, `_`), both padded. Node's decoder accepts both but silently skips any other
 * character, so the alphabet is checked first: garbage must be a 400, not a corrupt image.
 */
const ALPHABET = /^[A-Za-z0-9+/\-_]*={0,2}$/;

export type Base64Result = { ok: true; bytes: Buffer } | { ok: false; reason: string };

export function decodeBase64(text: string): Base64Result {
  if (/^data:[^,]*,/.test(text))
    return { ok: false, reason: 'must be raw base64 without a "data:" URL prefix' };
  const compact = /\s/.test(text) ? text.replace(/\s+/g, '') : text;
  if (!ALPHABET.test(compact)) return { ok: false, reason: 'is not valid base64' };
  const unpadded = compact.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) return { ok: false, reason: 'is not valid base64 (truncated)' };
  return { ok: true, bytes: Buffer.from(compact, 'base64') };
}
