// ONNX Runtime sessions for the projection graphs. Providers are tried in the order cuda,
// webgpu, cpu; the first that creates a session is used for the whole process, and why the
// others were passed over is kept as one line (`providerNote`) for progress and metadata.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as nodePath from 'node:path';
import * as ort from 'onnxruntime-node';

export type Provider = 'cuda' | 'webgpu' | 'cpu';

// The runtime's own warnings (e.g. that it could not store its telemetry id) would be extra
// stderr lines of the CLI; errors still surface as exceptions.
ort.env.logLevel = 'error';

let chosen: { provider: Provider; note: string } | undefined;
const sessions = new Map<string, Promise<ort.InferenceSession>>();

/** The provider in use (after the first session) and why the faster ones were skipped. */
export function providerInfo(): { provider: Provider; note: string } | undefined {
  return chosen;
}

/** A session for `graph`, created once per key and process. */
export function session(key: string, graph: () => Uint8Array): Promise<ort.InferenceSession> {
  let s = sessions.get(key);
  if (!s) {
    s = createSession(graph());
    sessions.set(key, s);
    s.catch(() => sessions.delete(key));
  }
  return s;
}

function options(provider: Provider): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    intraOpNumThreads: availableParallelism(),
    graphOptimizationLevel: 'all',
    // Native logs would go straight to stderr; failures surface as exceptions instead.
    logSeverityLevel: 4,
  };
}

async function createSession(bytes: Uint8Array): Promise<ort.InferenceSession> {
  if (chosen) return ort.InferenceSession.create(bytes, options(chosen.provider));
  const skipped: string[] = [];
  for (const provider of ['cuda', 'webgpu'] as const) {
    const missing = missingRuntime(provider);
    if (missing) {
      skipped.push(`${provider}: ${missing}`);
      continue;
    }
    try {
      const s = await ort.InferenceSession.create(bytes, options(provider));
      chosen = { provider, note: skipped.length ? `${skipped.join('; ')}; using ${provider}` : `using ${provider}` };
      return s;
    } catch (e) {
      skipped.push(`${provider}: ${firstLine(e)}`);
    }
  }
  const s = await ort.InferenceSession.create(bytes, options('cpu'));
  chosen = { provider: 'cpu', note: `${skipped.join('; ')}; using cpu` };
  return s;
}

/**
 * Why a provider cannot work here, checked without loading it: loading a missing provider
 * makes ONNX Runtime and Dawn print warnings to stderr that a CLI must not show.
 */
function missingRuntime(provider: 'cuda' | 'webgpu'): string | undefined {
  if (provider === 'cuda') {
    if (process.platform === 'darwin') return 'not available on macOS';
    const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
    try {
      const dir = nodePath.dirname(require.resolve('onnxruntime-node/package.json'));
      const binDir = nodePath.join(dir, 'bin', 'napi-v6', process.platform, process.arch);
      if (existsSync(nodePath.join(binDir, lib))) return undefined;
    } catch {
      // not resolvable: treat as not installed
    }
    return 'provider library not installed';
  }
  if (process.platform === 'linux') {
    const dirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu'];
    if (!dirs.some((d) => existsSync(nodePath.join(d, 'libvulkan.so.1')))) return 'no Vulkan loader (libvulkan.so.1)';
  }
  return undefined;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 200);
}

export { ort };
