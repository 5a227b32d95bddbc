/**
 * File references as the Gemini wire writes them in `fileData.fileUri`: `files/{id}`, or a
 * URL whose path ends in `/files/{id}` (a File's `uri`, whatever host or API version the
 * client used). A wire fact, so the Files service that resolves them and the providers that
 * forward them read it from one place.
 */

/** The file id a `fileData.fileUri` points at, or undefined when it is not a file reference. */
export function parseFileRef(ref: string): string | undefined {
  const s = ref.trim();
  const short = /^files\/([^/?#\s]+)$/.exec(s);
  if (short) return short[1];
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return undefined;
  }
  const m = /\/files\/([^/]+)\/?$/.exec(url.pathname);
  return m ? decodeURIComponent(m[1]!) : undefined;
}
