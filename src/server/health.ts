/**
 * Readiness, as `/readyz` reports it: the models are warm and every configured dependency
 * (metadata database, blob store) answers, and the server is not draining. `/healthz`
 * stays the liveness answer (the process is up and serving). Kubernetes sends traffic only
 * to a ready pod and restarts one that is not alive, so a slow database makes a replica
 * unready, never restarted.
 */
export interface ReadinessCheck {
  name: string;
  /** Resolves when the dependency answers; throws (or returns a reason string) when it does not. */
  check: () => Promise<string | void> | string | void;
}

export interface ReadinessReport {
  ready: boolean;
  draining: boolean;
  checks: Record<string, 'ok' | string>;
}

export interface Readiness {
  report(): Promise<ReadinessReport>;
  /** From SIGTERM on: not ready, so load balancers stop sending new requests. */
  startDraining(): void;
  readonly draining: boolean;
}

export function createReadiness(checks: ReadinessCheck[], opts: { timeoutMs?: number } = {}): Readiness {
  const timeoutMs = opts.timeoutMs ?? 2000;
  let draining = false;
  const runOne = async (c: ReadinessCheck): Promise<string> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      const outcome = await Promise.race([
        Promise.resolve().then(c.check),
        new Promise<string>((resolve) => {
          timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs).unref();
        }),
      ]);
      return typeof outcome === 'string' ? outcome : 'ok';
    } catch (err) {
      return (err as Error).message || String(err);
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    get draining() {
      return draining;
    },
    startDraining() {
      draining = true;
    },
    async report() {
      const results = await Promise.all(checks.map(async (c) => [c.name, await runOne(c)] as const));
      const out = Object.fromEntries(results);
      return { ready: !draining && results.every(([, r]) => r === 'ok'), draining, checks: out };
    },
  };
}
