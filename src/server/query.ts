/**
 * The query-string parser for every route: one string per name, the first occurrence
 * winning. Fastify's default turns a repeated name (`?upload_id=a&upload_id=b`) into a list,
 * and every handler reads its parameters as strings, so a repeated one used to reach
 * `.toLowerCase()` or a lookup as an array and end in 500. The object has no prototype, so
 * `?__proto__=x` is just a name.
 */
export function parseQueryFirstWins(query: string): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const [name, value] of new URLSearchParams(query)) if (!(name in out)) out[name] = value;
  return out;
}
