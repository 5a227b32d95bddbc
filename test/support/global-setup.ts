/**
 * vitest globalSetup: make sure every fixture exists before any test file runs, once per
 * run. Fetching from Debian happens only on a cold .fixtures/; a warm run takes well under
 * a second. A failure stops the whole run with the script's message, never a silent skip.
 */
import { ensureFixtures } from './fixtures.js';

export default async function setup(): Promise<void> {
  await ensureFixtures();
}
