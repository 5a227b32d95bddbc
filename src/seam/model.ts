/**
 * A model clients can name, as the catalogue (engine/model-catalog.ts) resolves it: what
 * models.list shows, the limits generation enforces, and the family whose token accounting
 * it follows (media/tokens.ts reads `family` for the image policy).
 */
import type { ModelFamily } from '../media/tokens.js';

export interface ModelEntry {
  /** Id without the `models/` prefix, e.g. `gemini-2.5-flash`. */
  id: string;
  displayName: string;
  description: string;
  family: ModelFamily;
  version: string;
  inputTokenLimit: number;
  outputTokenLimit: number;
  thinking: boolean;
}
