/** Where each adapter's runtime loader lives, for the worker to import (only there: it pulls in transformers.js). */
import type { AdapterName } from '../adapter-kind.js';

export const RUNTIME_MODULES: Record<AdapterName, { file: string; exportName: string }> = {
  florence2: { file: 'florence2', exportName: 'loadFlorence2' },
  'chat-vlm': { file: 'chat-vlm', exportName: 'loadChatVlm' },
  owlv2: { file: 'owlv2', exportName: 'loadOwlv2' },
  clip: { file: 'clip', exportName: 'loadClip' },
};

/** The module URL of an adapter's runtime, .ts under tsx/vitest and .js when built. */
export function runtimeModuleUrl(adapter: AdapterName): string {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${RUNTIME_MODULES[adapter].file}${ext}`, import.meta.url).href;
}
