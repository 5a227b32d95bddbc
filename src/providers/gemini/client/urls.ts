/** Where Gemini's REST resources live under a base URL. */

/** `https://host/` + `v1beta` + `models/x:streamGenerateContent?alt=sse`. */
export function apiUrl(baseUrl: string, version: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/${version}/${path.replace(/^\/+/, '')}`;
}

/** The model path segment: `gemini-2.5-flash` and `models/gemini-2.5-flash` both give `models/gemini-2.5-flash`. */
export function modelPath(model: string): string {
  const m = model.trim();
  const prefixed = /^(models|tunedModels)\/(.+)$/.exec(m);
  return prefixed ? `${prefixed[1]}/${encodeURIComponent(prefixed[2]!)}` : `models/${encodeURIComponent(m)}`;
}

/**
 * An upload URL with the API's scheme, host and port (path and query kept), as the JS SDK
 * does: the key then never goes to a host other than the configured one, and a server
 * behind a proxy that advertises its inner host name still works. Undefined when the URL
 * is not absolute.
 */
export function onApiOrigin(uploadUrl: string, baseUrl: string): string | undefined {
  let u: URL;
  try {
    u = new URL(uploadUrl);
  } catch {
    return undefined;
  }
  const base = new URL(baseUrl);
  u.protocol = base.protocol;
  // hostname and port one by one: assigning `host` without a port keeps the old port.
  u.hostname = base.hostname;
  u.port = base.port;
  return u.href;
}
