/**
 * The Kubernetes manifests, with no cluster: every overlay renders with `kubectl kustomize`
 * (Debian's `kubernetes-client`, installed here if missing), every object validates against
 * the Kubernetes schemas (npm kubernetes-models), and what the manifests name exists in the
 * server: each flag in `ocellus serve --help`, each OCELLUS_* variable in src/config.ts,
 * the probe paths answering 200 on a real server, ports and service targets matching the
 * container's flags.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/fixtures.js';
import { runCli, startOn } from './support.js';

const OVERLAYS = ['single', 'scaled'] as const;

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
}
interface Container {
  name: string;
  args?: string[];
  env?: Array<{ name: string; value?: string }>;
  envFrom?: Array<{ secretRef?: { name: string } }>;
  ports?: Array<{ name: string; containerPort: number }>;
  readinessProbe?: { httpGet: { path: string; port: string | number } };
  livenessProbe?: { httpGet: { path: string; port: string | number } };
  startupProbe?: { httpGet: { path: string; port: string | number } };
}

function ensureKubectl(): void {
  if (spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0) return;
  const sudo = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
  const run = (args: string[]) => execFileSync(sudo[0] ?? args[0]!, [...sudo.slice(1), ...(sudo.length ? args : args.slice(1))], { stdio: 'inherit' });
  run(['apt-get', 'update', '-q']);
  run(['apt-get', 'install', '-y', '-q', '--no-install-recommends', 'kubernetes-client']);
}

function render(overlay: string): K8sObject[] {
  // stderr has newer kustomize's deprecation notes for the v2 fields kept for Debian's kubectl.
  const out = execFileSync('kubectl', ['kustomize', path.join(REPO_ROOT, 'deploy', 'k8s', 'overlays', overlay)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseAllDocuments(out).map((d) => d.toJS() as K8sObject);
}

// Each class takes its own typed shape; the rendered objects are checked at run time.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ModelClass = new (data: any) => { validate(): void };
/** The kubernetes-models schema class of each kind the manifests use. */
const SCHEMAS: Record<string, () => Promise<ModelClass>> = {
  'apps/v1 Deployment': async () => (await import('kubernetes-models/apps/v1/Deployment')).Deployment,
  'v1 Service': async () => (await import('kubernetes-models/v1/Service')).Service,
  'v1 PersistentVolumeClaim': async () => (await import('kubernetes-models/v1/PersistentVolumeClaim')).PersistentVolumeClaim,
  'networking.k8s.io/v1 Ingress': async () => (await import('kubernetes-models/networking.k8s.io/v1/Ingress')).Ingress,
  'autoscaling/v2 HorizontalPodAutoscaler': async () => (await import('kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler')).HorizontalPodAutoscaler,
  'policy/v1 PodDisruptionBudget': async () => (await import('kubernetes-models/policy/v1/PodDisruptionBudget')).PodDisruptionBudget,
};

async function validate(obj: K8sObject): Promise<void> {
  const Model = await SCHEMAS[`${obj.apiVersion} ${obj.kind}`]?.();
  if (!Model) throw new Error(`no schema for ${obj.apiVersion} ${obj.kind}`);
  new Model(obj).validate();
}

const containerOf = (objects: K8sObject[]): Container => {
  const dep = objects.find((o) => o.kind === 'Deployment')!;
  return (dep.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers[0]!;
};

describe('Kubernetes manifests', () => {
  const rendered = new Map<string, K8sObject[]>();
  let serveHelp = '';
  beforeAll(async () => {
    ensureKubectl();
    for (const o of OVERLAYS) rendered.set(o, render(o));
    const help = await runCli(['serve', '--help']);
    expect(help.code, help.stderr).toBe(0);
    serveHelp = help.stdout;
  }, 300_000);

  it.each(OVERLAYS)('%s renders and every object validates against the Kubernetes schemas', async (overlay) => {
    const objects = rendered.get(overlay)!;
    expect(objects.map((o) => o.kind).sort()).toEqual(
      overlay === 'single'
        ? ['Deployment', 'Ingress', 'PersistentVolumeClaim', 'Service']
        : ['Deployment', 'HorizontalPodAutoscaler', 'Ingress', 'PodDisruptionBudget', 'Service'],
    );
    for (const obj of objects) await validate(obj);
  });

  it('the validator refuses a broken object (so the check above can fail)', async () => {
    const dep = structuredClone(rendered.get('single')!.find((o) => o.kind === 'Deployment')!);
    (dep.spec as Record<string, unknown>).replicas = 'three';
    await expect(validate(dep)).rejects.toThrow();
  });

  it.each(OVERLAYS)('%s: flags, environment variables, ports and probes are the server\'s real ones', async (overlay) => {
    const objects = rendered.get(overlay)!;
    const c = containerOf(objects);
    const args = c.args ?? [];
    expect(args[0]).toBe('serve');
    for (const arg of args.slice(1)) {
      const flag = arg.split('=')[0]!;
      expect(serveHelp, `${flag} is not a flag of ocellus serve`).toMatch(new RegExp(`(^|\\s)${flag.replace(/-/g, '\\-')}(\\s|,|$| <)`, 'm'));
    }
    const config = readFileSync(path.join(REPO_ROOT, 'src', 'config.ts'), 'utf8');
    for (const e of c.env ?? []) if (e.name.startsWith('OCELLUS_')) expect(config, `${e.name} is not read by src/config.ts`).toContain(`${e.name}`);
    // The scaled overlay names the Secret's variables in its comment; each must be one the server reads.
    if (overlay === 'scaled') {
      expect(c.envFrom?.[0]?.secretRef?.name).toBe('ocellus-scale');
      const doc = readFileSync(path.join(REPO_ROOT, 'deploy', 'k8s', 'overlays', 'scaled', 'kustomization.yaml'), 'utf8');
      const named = [...doc.matchAll(/--from-literal=(OCELLUS_\w+)=/g)].map((m) => m[1]!);
      expect(named).toEqual(['OCELLUS_DATABASE_URL', 'OCELLUS_REDIS_URL', 'OCELLUS_STORAGE_URL']);
      for (const n of named) expect(config, `${n} is not read by src/config.ts`).toContain(n);
    }

    const flagValue = (name: string) => args.find((a) => a.startsWith(`${name}=`))?.split('=')[1];
    const port = (name: string) => c.ports?.find((p) => p.name === name)?.containerPort;
    expect(port('http')).toBe(Number(flagValue('--port')));
    expect(port('metrics')).toBe(Number(flagValue('--metrics-port')));
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    const svc = objects.find((o) => o.kind === 'Service')!;
    for (const p of (svc.spec as { ports: Array<{ targetPort: string }> }).ports) expect(c.ports?.map((x) => x.name)).toContain(p.targetPort);
    const ingress = objects.find((o) => o.kind === 'Ingress')!;
    expect((ingress as { metadata: { annotations?: Record<string, string> } }).metadata.annotations?.['nginx.ingress.kubernetes.io/proxy-body-size']).toBe('2100m');
  });

  it('the probe paths and the metrics port answer on a real server started with the manifest\'s flags', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ocellus-deploy-'));
    const { baseUrl, server } = await startOn(dataDir, { metricsPort: 0 });
    try {
      for (const p of ['/healthz', '/readyz']) expect((await fetch(`${baseUrl}${p}`)).status).toBe(200);
      const metrics = await fetch(`${server.metricsUrl()}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('ocellus_http_requests_total');
    } finally {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
