// The engine answers through the extension (its child process, started by the host).
// Uses the small API activate() returns: { engine: EngineClient } (see src/extension).
import * as assert from 'node:assert/strict';
import type { ElementInfo, ModelInfo, TensorStats } from '../../../src/shared/protocol';
import { activeExtension, workspaceUri } from './helpers';

interface EngineApi {
  openModel(path: string): Promise<{ handle: string; info: ModelInfo }>;
  closeModel(handle: string): Promise<void>;
  request(method: 'stats', params: { modelId: string; tensor: string }): Promise<TensorStats>;
  request(method: 'element', params: { modelId: string; tensor: string; slice: string; row: number; col: number }): Promise<ElementInfo>;
}

async function engineApi(): Promise<EngineApi> {
  const api = (await activeExtension()).exports as { engine?: EngineApi } | undefined;
  assert.ok(api?.engine, 'activate() must return { engine }');
  return api.engine;
}

describe('engine via the extension', () => {
  it('opens a model and answers stats and element requests', async function () {
    const engine = await engineApi();
    const { handle, info } = await engine.openModel(workspaceUri('models', 'quantized.safetensors').fsPath);
    try {
      const names = info.tensors.map((t) => t.name);
      assert.ok(names.includes('model.attention_mask'));
      assert.equal(info.tensors.find((t) => t.name === 'model.layers.0.self_attn.q_proj.weight')?.dtype, 'F8_E4M3');
      // scripts/demo-models.ts puts NaN at 5 and 77, +Inf at 100, -Inf at 101.
      const stats = await engine.request('stats', { modelId: handle, tensor: 'debug.activations_with_nan' });
      assert.equal(stats.numel, 1024);
      assert.equal(stats.nan, 2);
      assert.equal(stats.inf, 2);
      const el = await engine.request('element', { modelId: handle, tensor: 'model.position_ids', slice: '[:, :]', row: 0, col: 37 });
      assert.equal(el.value, 37);
      assert.deepEqual(el.index, [0, 37]);
    } finally {
      await engine.closeModel(handle);
    }
  });

  it('rejects a malformed file with one line naming the file', async function () {
    const engine = await engineApi();
    const path = workspaceUri('broken', 'bad_json.safetensors').fsPath;
    await assert.rejects(engine.openModel(path), (err: Error) => {
      assert.ok(!err.message.includes('\n'), `one line: ${err.message}`);
      assert.match(err.message, /bad_json\.safetensors/);
      return true;
    });
    // ...and still answers afterwards.
    const { handle } = await engine.openModel(workspaceUri('models', 'conv-net.safetensors').fsPath);
    await engine.closeModel(handle);
  });
});
