/** `ocellus models`: what `ocellus pull` has installed, and what each model lets Ocellus do. */
import { Command, Option } from 'commander';
import { loadConfig } from '../config.js';
import { ADAPTER_CAPABILITIES, guessAdapter } from '../providers/hub/adapter-kind.js';
import { listInstalled, type InstalledModel } from '../providers/hub/store.js';
import { formatBytes } from './progress.js';

export interface ModelRow {
  repo: string;
  revision: string;
  dtype: string;
  size: string;
  adapter: string;
  capabilities: string;
}

export function modelRow(m: InstalledModel): ModelRow {
  const man = m.manifest;
  const adapter = man.adapter ?? guessAdapter(man.repo, man.modelType);
  const revision = man.commit ? `${man.revision} (${man.commit.slice(0, 12)})` : man.revision;
  return {
    repo: man.repo,
    revision,
    dtype: man.dtype,
    size: formatBytes(m.bytesOnDisk) + (m.missingFiles.length ? ` (${m.missingFiles.length} files missing: pull again)` : ''),
    adapter: adapter ?? '?',
    capabilities: adapter ? ADAPTER_CAPABILITIES[adapter].join(', ') : '-',
  };
}

/** A plain aligned table: header, then one line per model. */
export function formatTable(rows: ModelRow[]): string {
  const head: ModelRow = { repo: 'MODEL', revision: 'REVISION', dtype: 'DTYPE', size: 'SIZE', adapter: 'ADAPTER', capabilities: 'CAPABILITIES' };
  const keys = Object.keys(head) as Array<keyof ModelRow>;
  const all = [head, ...rows];
  const widths = keys.map((k) => Math.max(...all.map((r) => r[k].length)));
  return all.map((r) => keys.map((k, i) => (i === keys.length - 1 ? r[k] : r[k].padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

export function registerModels(program: Command): void {
  program
    .command('models')
    .description('list the hub models installed by `ocellus pull`')
    .addOption(new Option('--models-dir <dir>', 'the model store (OCELLUS_MODELS_DIR, default ~/.cache/ocellus/models)'))
    .addOption(new Option('--json', 'print the manifests as JSON'))
    .action(async (flags: { modelsDir?: string; json?: boolean }) => {
      const { modelsDir } = loadConfig(flags.modelsDir ? { modelsDir: flags.modelsDir } : {}).providers;
      const { models, broken } = await listInstalled(modelsDir);
      if (flags.json) {
        process.stdout.write(JSON.stringify(models.map((m) => ({ ...m.manifest, bytesOnDisk: m.bytesOnDisk, missingFiles: m.missingFiles })), null, 2) + '\n');
      } else if (models.length === 0) {
        process.stdout.write(`no models in ${modelsDir}; get one with: ocellus pull onnx-community/Florence-2-base-ft\n`);
      } else {
        process.stdout.write(formatTable(models.map(modelRow)));
      }
      for (const b of broken) process.stderr.write(`ocellus models: skipped ${b.dir}: ${b.error}\n`);
    });
}
