/**
 * Runs dependency-cruiser's API with the project's one rules file (.dependency-cruiser.cjs),
 * so the tests check exactly the rules a developer reads there.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** One violation as a line a person can act on: `rule: from → to`. */
export const describeViolation = (v: IViolation): string => `${v.rule.name}: ${v.from} → ${v.to}`;

/**
 * The violations of the rules in `root`/src. `root` is the repository, or a temporary tree
 * laid out like it (the test that proves a planted violation is caught).
 */
export async function layerViolations(root = ROOT): Promise<IViolation[]> {
  const options = await extractDepcruiseOptions(path.join(ROOT, '.dependency-cruiser.cjs'));
  const tsConfig = extractTSConfig(path.join(root, 'tsconfig.json'));
  // baseDir: paths are found and reported relative to `root` (`src/…`), whatever the working directory.
  const result = await cruise(['src'], { ...options, validate: true, baseDir: root }, undefined, { tsConfig });
  const output = (typeof result.output === 'string' ? JSON.parse(result.output) : result.output) as ICruiseResult;
  return output.summary.violations;
}
