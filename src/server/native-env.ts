/**
 * Environment for native libraries, set once before any of them starts.
 *
 * onnxruntime-node (1.2x+ on Linux) starts Microsoft's 1DS telemetry client when its first
 * session is created: it leaves an empty `/tmp/mat-debug-<pid>.log` per process (its debug
 * logger opens the file whether or not it writes) and prepares to send usage events. An
 * offline server must not phone home, and a file per start is litter, so it is switched off
 * at its own switch, `ORT_DISABLE_TELEMETRY`, unless the operator set that variable. It must
 * be in the process environment before the model workers start: they read it natively.
 */
export function quietNativeLibraries(env: NodeJS.ProcessEnv = process.env): void {
  env.ORT_DISABLE_TELEMETRY ??= '1';
}
