// The semantic diff of two versions of a .stpatch: hunks added, removed and changed, by
// tensor, with their values and heatmaps (the patch editor's webview in its diff mode).
// The newer side is usually the working copy: it follows the document's unsaved edits.

import * as vscode from 'vscode';
import type { PatchViewState, ReviewAction, ReviewRequest } from '../../shared/reviewProtocol';
import type { WindowEngine } from '../windowEngine';
import { EnginePatch } from './enginePatch';
import { oneLine } from './messages';
import { patchRequest, ReviewSession } from './reviewSession';

export interface PatchVersion {
  text: string;
  label: string;
  /** Named in parse errors. */
  fileName: string;
}

const REDIFF_DELAY_MS = 300;

export class PatchChangesSession extends ReviewSession {
  private readonly older: EnginePatch;
  private readonly olderLabel: string;
  private newer: EnginePatch | undefined;
  private state: PatchViewState | undefined;
  private generation = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    panel: vscode.WebviewPanel,
    private readonly engine: WindowEngine,
    log: vscode.LogOutputChannel,
    private readonly title: string,
    older: PatchVersion,
    /** The newer version; `follow` is the document it comes from, redone when that changes. */
    private readonly newerVersion: () => Promise<PatchVersion>,
    follow?: vscode.Uri,
  ) {
    super(panel, log);
    this.older = new EnginePatch(() => engine.client, older.text, older.fileName);
    this.olderLabel = older.label;
    if (follow) {
      this.disposables.push(
        vscode.workspace.onDidChangeTextDocument((e) => {
          if (e.document.uri.toString() !== follow.toString() || e.contentChanges.length === 0) return;
          if (this.timer) clearTimeout(this.timer);
          this.timer = setTimeout(() => void this.refresh(), REDIFF_DELAY_MS);
        }),
      );
    }
    this.disposables.push(engine.onDidRestart(() => this.post({ type: 'engineRestarted' })));
    void this.refresh();
  }

  protected onReady(): void {
    if (this.state) this.post({ type: 'patchState', state: this.state });
  }

  private async refresh(): Promise<void> {
    const generation = ++this.generation;
    try {
      const version = await this.newerVersion();
      if (generation !== this.generation) return;
      if (this.newer?.text !== version.text) {
        this.newer?.dispose();
        this.newer = new EnginePatch(() => this.engine.client, version.text, version.fileName);
      }
      const newer = this.newer;
      const [oldOverview, newOverview] = await Promise.all([this.older.overview(), newer.overview()]);
      const diff = await newer.diffFrom(this.older);
      if (generation !== this.generation) return;
      this.state = { kind: 'diff', title: this.title, oldLabel: this.olderLabel, newLabel: version.label, oldOverview, newOverview, diff };
    } catch (err) {
      if (generation !== this.generation) return;
      this.state = { kind: 'error', fileName: this.title, message: oneLine(err) };
    }
    if (this.ready) this.post({ type: 'patchState', state: this.state });
  }

  protected handle(request: ReviewRequest, token: vscode.CancellationToken): Promise<unknown> {
    if (request.method === 'patchDiffTile') {
      if (!this.newer) return Promise.reject(new Error('the patch is not loaded yet'));
      return this.newer.diffTile(this.older, request.params, token);
    }
    const side = 'side' in request.params ? request.params.side : undefined;
    const patch = side === 'old' ? this.older : this.newer;
    if (!patch) return Promise.reject(new Error('the patch is not loaded yet'));
    return patchRequest(patch, request, token);
  }

  protected onAction(_action: ReviewAction): void {}

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.generation++;
    this.older.dispose();
    this.newer?.dispose();
    super.dispose();
  }
}
