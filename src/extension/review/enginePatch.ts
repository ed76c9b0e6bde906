// A patch's text held open in the engine (patchOpen) for a view. The text stays the truth:
// when the engine restarted and no longer knows the id, the patch is opened again from the
// text and the request is repeated once. No `vscode` import.

import { EngineErrorCode, type EngineProgress } from '../../shared/protocol';
import type { PatchOverview, ReviewMethods } from '../../shared/reviewProtocol';
import { EngineError, type CancellationTokenLike, type EngineClient } from '../engineClient';

/** Patch methods that take one patchId. */
type PatchMethod = 'patchHunks' | 'patchValues' | 'patchTile' | 'patchCheck' | 'patchApply' | 'patchRevert';
type Params<M extends PatchMethod> = Omit<ReviewMethods[M]['params'], 'patchId'>;

export class EnginePatch {
  private opened: Promise<PatchOverview> | undefined;
  private disposed = false;

  constructor(
    private readonly client: () => EngineClient,
    readonly text: string,
    /** Named in parse errors, e.g. `model.stpatch:17: ...`. */
    readonly name: string,
  ) {}

  /** Parses the patch in the engine (once); rejects with the one-line parse error. */
  overview(): Promise<PatchOverview> {
    this.opened ??= this.client().request('patchOpen', { text: this.text, name: this.name });
    const opened = this.opened;
    opened.catch(() => {
      if (this.opened === opened) this.opened = undefined;
    });
    return opened;
  }

  async request<M extends PatchMethod>(method: M, params: Params<M>, token?: CancellationTokenLike, onProgress?: (p: EngineProgress) => void): Promise<ReviewMethods[M]['result']> {
    return this.retrying(async () => {
      const { patchId } = await this.overview();
      return this.client().request(method, { ...params, patchId } as never, token, onProgress) as Promise<ReviewMethods[M]['result']>;
    });
  }

  /** The semantic diff from `older` to this patch. */
  diffFrom(older: EnginePatch): Promise<ReviewMethods['patchDiff']['result']> {
    return this.retrying(() =>
      older.retrying(async () => {
        const [a, b] = await Promise.all([older.overview(), this.overview()]);
        return this.client().request('patchDiff', { oldPatchId: a.patchId, newPatchId: b.patchId });
      }),
    );
  }

  /** A tile of this patch's results minus `older`'s (see patchDiffTile). */
  diffTile(older: EnginePatch, params: Omit<ReviewMethods['patchDiffTile']['params'], 'oldPatchId' | 'newPatchId'>, token?: CancellationTokenLike): Promise<ReviewMethods['patchDiffTile']['result']> {
    return this.retrying(() =>
      older.retrying(async () => {
        const [a, b] = await Promise.all([older.overview(), this.overview()]);
        return this.client().request('patchDiffTile', { ...params, oldPatchId: a.patchId, newPatchId: b.patchId }, token);
      }),
    );
  }

  /** Runs `fn`; if the engine no longer knows the patch (it restarted), opens it again and retries once. */
  private async retrying<T>(fn: () => Promise<T>): Promise<T> {
    const before = this.opened;
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof EngineError) || err.code !== EngineErrorCode.NotFound || this.disposed) throw err;
      if (this.opened === before) this.opened = undefined;
      return fn();
    }
  }

  dispose(): void {
    this.disposed = true;
    const opened = this.opened;
    this.opened = undefined;
    void opened?.then(
      ({ patchId }) => this.client().request('patchClose', { patchId }).catch(() => undefined),
      () => undefined,
    );
  }
}
