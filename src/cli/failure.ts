/** How the CLI reports a failure: one line for what the user can act on, a stack for bugs. */
import { ConfigError } from '../config.js';
import { ModelNotInstalledError } from '../vision/detect/model-files.js';
import { UserError } from './preflight.js';

/** System errors a user causes or can fix (a port in use, a missing or unreadable file). */
const USER_SYSTEM_ERRORS = new Set(['EADDRINUSE', 'EADDRNOTAVAIL', 'EACCES', 'EPERM', 'ENOENT', 'ENOTDIR', 'EISDIR', 'EROFS', 'ENOSPC']);

/**
 * One line for what the user can act on; a stack trace only for what is a bug in Ocellus.
 * Errors from model threads lose their class on the way, so a missing model is also
 * recognised by its message, which names the `ocellus pull` that fixes it.
 */
export function describeFailure(err: unknown): { line: string; stack: boolean } {
  const e = err as (Error & { code?: unknown }) | undefined;
  const message = e instanceof Error ? e.message.split('\n')[0]! : String(err);
  if (err instanceof ConfigError || err instanceof UserError || err instanceof ModelNotInstalledError) return { line: `ocellus: ${message}`, stack: false };
  if (typeof e?.code === 'string' && USER_SYSTEM_ERRORS.has(e.code)) return { line: `ocellus: ${message}`, stack: false };
  if (/\bocellus pull\b|not installed/.test(message)) return { line: `ocellus: ${message}`, stack: false };
  return { line: `ocellus: ${e instanceof Error ? (e.stack ?? message) : message}`, stack: true };
}

