// The compare view of two models (A before, B after): the engine streams both tensor by
// tensor (work-done progress, cancellable from the notification or the view), the view shows
// the table of changed / added / removed tensors and, for one tensor, A, B and B − A
// heatmaps with linked zoom. "Export as .stpatch" writes B's differences from A when the
// layouts match.

import * as vscode from 'vscode';
import type { ModelComparison } from '../../shared/protocol';
import type { CompareSubject, ReviewAction, ReviewRequest } from '../../shared/reviewProtocol';
import { refuseUntrustedWrite } from '../trust';
import type { WindowEngine } from '../windowEngine';
import { baseName, oneLine, plural } from './messages';
import { ReviewSession } from './reviewSession';

export interface CompareInputs {
  pathA: string;
  pathB: string;
  labelA: string;
  labelB: string;
  /** Where "Export as .stpatch" suggests writing. */
  exportDefault: vscode.Uri;
  /** Removes what was made for the inputs (temp files of committed versions). */
  release?: () => Promise<void>;
}

export class CompareSession extends ReviewSession {
  private comparison: ModelComparison | undefined;
  private running: vscode.CancellationTokenSource | undefined;
  private lastProgress: { done: number; total: number } | undefined;
  private error: string | undefined;

  constructor(
    panel: vscode.WebviewPanel,
    private readonly engine: WindowEngine,
    log: vscode.LogOutputChannel,
    private readonly inputs: CompareInputs,
  ) {
    super(panel, log);
    this.disposables.push(
      engine.onDidRestart(() => this.post({ type: 'engineRestarted' })),
      // Export becomes possible once the workspace is trusted.
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.post({ type: 'compareSubject', subject: this.subject })),
    );
    void this.run();
  }

  private get subject(): CompareSubject {
    const c = this.comparison;
    const mismatch = c ? c.counts.added + c.counts.removed + c.counts.dtype + c.counts.shape : 0;
    return {
      labelA: this.inputs.labelA,
      labelB: this.inputs.labelB,
      exportable: vscode.workspace.isTrusted && c !== undefined && mismatch === 0 && c.counts.changed > 0,
      exportReason: !vscode.workspace.isTrusted
        ? 'read-only: this workspace is not trusted (Restricted Mode writes no files)'
        : !c
          ? 'comparing…'
          : mismatch > 0
            ? 'a .stpatch needs the same tensors, dtypes and shapes in A and B'
            : c.counts.changed === 0
              ? 'no tensor changed'
              : undefined,
    };
  }

  protected onReady(): void {
    this.post({ type: 'compareStart', subject: this.subject });
    if (this.comparison) this.post({ type: 'compareResult', subject: this.subject, comparison: this.comparison });
    else if (this.error) this.post({ type: 'compareError', message: this.error });
    else if (this.lastProgress) this.post({ type: 'compareProgress', ...this.lastProgress });
  }

  /** Compares A and B with a cancellable progress notification (large models take a while). */
  private async run(): Promise<void> {
    this.running?.cancel();
    const cts = new vscode.CancellationTokenSource();
    this.running = cts;
    this.comparison = undefined;
    this.error = undefined;
    this.lastProgress = undefined;
    if (this.ready) this.post({ type: 'compareStart', subject: this.subject });
    const title = `Tensorscope: comparing ${this.inputs.labelA} and ${this.inputs.labelB}`;
    try {
      const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
        const stop = token.onCancellationRequested(() => cts.cancel());
        let reported = 0;
        try {
          return await this.engine.client.request('compare', { pathA: this.inputs.pathA, pathB: this.inputs.pathB }, cts.token, (p) => {
            this.lastProgress = { done: p.done, total: p.total };
            this.post({ type: 'compareProgress', done: p.done, total: p.total });
            const percent = p.total > 0 ? (100 * p.done) / p.total : 0;
            progress.report({ increment: percent - reported, message: `${Math.floor(percent)}%` });
            reported = percent;
          });
        } finally {
          stop.dispose();
        }
      });
      if (this.running !== cts) return;
      this.comparison = result;
      this.post({ type: 'compareResult', subject: this.subject, comparison: result });
    } catch (err) {
      if (this.running !== cts) return;
      this.error = cts.token.isCancellationRequested ? 'Cancelled. Compare again to see the differences.' : oneLine(err);
      this.post({ type: 'compareError', message: this.error });
    } finally {
      if (this.running === cts) this.running = undefined;
      cts.dispose();
    }
  }

  protected handle(request: ReviewRequest, token: vscode.CancellationToken): Promise<unknown> {
    const paths = { pathA: this.inputs.pathA, pathB: this.inputs.pathB };
    const client = this.engine.client;
    switch (request.method) {
      case 'compareView':
        return client.request('compareView', { ...paths, ...request.params }, token);
      case 'compareTile':
        return client.request('compareTile', { ...paths, ...request.params }, token);
      case 'compareElement':
        return client.request('compareElement', { ...paths, ...request.params }, token);
      default:
        return Promise.reject(new Error(`unsupported request ${request.method}`));
    }
  }

  protected async onAction(action: ReviewAction): Promise<void> {
    if (action === 'cancelCompare') this.running?.cancel();
    else if (action === 'compareAgain') await this.run();
    else if (action === 'exportPatch') await this.exportPatch();
  }

  private async exportPatch(): Promise<void> {
    if (refuseUntrustedWrite('Export Patch')) return;
    const out = await vscode.window.showSaveDialog({
      defaultUri: this.inputs.exportDefault,
      title: `Export ${this.inputs.labelB} − ${this.inputs.labelA} as a .stpatch (against A)`,
      saveLabel: 'Export Patch',
      filters: { 'Tensorscope patch': ['stpatch'] },
    });
    if (!out) return;
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Tensorscope: writing ${baseName(out.path)}`, cancellable: true },
      (progress, token) => {
        let reported = 0;
        return this.engine.client.request('exportPatch', { pathA: this.inputs.pathA, pathB: this.inputs.pathB, outPath: out.fsPath }, token, (p) => {
          const percent = p.total > 0 ? (100 * p.done) / p.total : 0;
          progress.report({ increment: percent - reported });
          reported = percent;
        });
      },
    );
    const note = result.headersDiffer ? ' The headers differ too (e.g. __metadata__): the patch carries tensor bytes only.' : '';
    const open = await vscode.window.showInformationMessage(
      `Tensorscope: wrote ${vscode.workspace.asRelativePath(out, false)}: ${plural(result.hunks, 'hunk')} in ${plural(result.tensors, 'tensor')}.${note}`,
      'Open',
    );
    if (open === 'Open') await vscode.commands.executeCommand('vscode.open', out);
  }

  dispose(): void {
    this.running?.cancel();
    void this.inputs.release?.().catch(() => undefined);
    super.dispose();
  }
}
