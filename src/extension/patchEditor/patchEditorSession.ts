// One patch editor panel over a .stpatch text document. The document stays the truth (git,
// text diffs and text edits keep working): each change of its text is parsed again in the
// engine and the view redrawn; a malformed text shows its one-line error (`x.stpatch:17:
// ...`) and stays editable as text. The base model is found (baseModel.ts) and checked by
// the engine; Apply / Bake write base + patch, Revert writes the inverse patch.
// Read-only (no Apply / Bake / Revert, a banner says why; the host refuses them anyway): in
// Restricted Mode until the workspace is trusted, and for a version from git (the index as
// the right side of a staged diff).

import * as vscode from 'vscode';
import type { BaseState, PatchCheck, PatchOverview, ReviewAction, ReviewFromWebview, ReviewRequest } from '../../shared/reviewProtocol';
import { EnginePatch } from '../review/enginePatch';
import { baseName, oneLine, plural } from '../review/messages';
import { patchRequest, ReviewSession } from '../review/reviewSession';
import { refuseUntrustedWrite } from '../trust';
import type { WindowEngine } from '../windowEngine';
import type { BaseModels } from './baseModel';
import { parseGitUri } from './gitUri';

const REPARSE_DELAY_MS = 300;

export class PatchEditorSession extends ReviewSession {
  private patch: EnginePatch | undefined;
  private overview: PatchOverview | undefined;
  private parseError: string | undefined;
  private base: BaseState = { kind: 'none', reason: 'looking for the base model…', choose: false };
  private baseUri: vscode.Uri | undefined;
  private generation = 0;
  private reparseTimer: ReturnType<typeof setTimeout> | undefined;
  /** Watches the base model: a rewritten base is checked again. */
  private baseWatcher: { uri: string; watcher: vscode.Disposable } | undefined;
  private recheckTimer: ReturnType<typeof setTimeout> | undefined;
  private busy = false;

  constructor(
    readonly document: vscode.TextDocument,
    panel: vscode.WebviewPanel,
    private readonly engine: WindowEngine,
    private readonly bases: BaseModels,
    log: vscode.LogOutputChannel,
  ) {
    super(panel, log);
    this.disposables.push(
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document === document && e.contentChanges.length > 0) this.scheduleReparse();
      }),
      engine.onDidRestart(() => this.post({ type: 'engineRestarted' })),
      // The writing buttons appear when the user trusts the workspace while the patch is open.
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.sendState()),
    );
    void this.reparse();
  }

  get fileName(): string {
    return baseName(this.document.uri.path);
  }

  /** A file on disk (the working copy), not a version from git or another scheme. */
  private get onDisk(): boolean {
    return this.document.uri.scheme === 'file';
  }

  /** What this document is when it is not the working copy: "the staged version (index) of x.stpatch". */
  private notOnDisk(): string {
    const git = parseGitUri(this.document.uri);
    const version = !git ? `a ${this.document.uri.scheme}: document` : git.ref === '' ? 'the staged version (index)' : `the version at ${git.ref}`;
    return `${version} of ${this.fileName}`;
  }

  /** Why nothing may be written from this editor (one line, the view's banner), or undefined. */
  private readOnlyReason(): string | undefined {
    if (!this.onDisk) return `Read-only: ${this.notOnDisk()}, not the working copy.`;
    return vscode.workspace.isTrusted ? undefined : 'Read-only: this workspace is not trusted (Restricted Mode writes no files).';
  }

  protected onReady(): void {
    this.sendState();
  }

  private scheduleReparse(): void {
    if (this.reparseTimer) clearTimeout(this.reparseTimer);
    this.reparseTimer = setTimeout(() => void this.reparse(), REPARSE_DELAY_MS);
  }

  /** Parses the document's text in the engine, then finds and checks the base. */
  private async reparse(): Promise<void> {
    const generation = ++this.generation;
    const text = this.document.getText();
    if (this.patch?.text === text && this.overview) return;
    const patch = new EnginePatch(() => this.engine.client, text, this.fileName);
    try {
      const overview = await patch.overview();
      if (generation !== this.generation) return patch.dispose();
      this.patch?.dispose();
      this.patch = patch;
      this.overview = overview;
      this.parseError = undefined;
    } catch (err) {
      patch.dispose();
      if (generation !== this.generation) return;
      this.parseError = oneLine(err);
    }
    this.sendState();
    if (!this.parseError) await this.checkBase();
  }

  private sendState(): void {
    if (!this.ready) return;
    if (this.parseError !== undefined) {
      this.post({ type: 'patchState', state: { kind: 'malformed', fileName: this.fileName, message: this.parseError } });
    } else if (this.overview) {
      this.post({ type: 'patchState', state: { kind: 'patch', fileName: this.fileName, overview: this.overview, base: this.base, readOnly: this.readOnlyReason() } });
    }
  }

  private label(uri: vscode.Uri): string {
    return vscode.workspace.asRelativePath(uri, false);
  }

  /** Finds the base model (unless one was chosen) and asks the engine whether the patch fits it. */
  private async checkBase(): Promise<void> {
    const patch = this.patch;
    if (!patch) return;
    if (!this.onDisk) {
      this.base = { kind: 'none', reason: 'a patch is checked and applied from its working copy', choose: false };
      return this.sendState();
    }
    this.baseUri ??= (await this.bases.find(this.document.uri))?.uri;
    const uri = this.baseUri;
    if (!uri) {
      const stem = this.fileName.replace(/\.stpatch$/i, '');
      this.base = { kind: 'none', reason: `no ${stem}.safetensors beside the patch`, choose: true };
      return this.sendState();
    }
    this.watchBase(uri);
    const label = this.label(uri);
    this.base = { kind: 'checking', path: uri.fsPath, label };
    this.sendState();
    try {
      const check = await patch.request('patchCheck', { basePath: uri.fsPath });
      if (this.patch !== patch || this.baseUri !== uri) return;
      this.base = { kind: 'checked', path: uri.fsPath, label, check };
    } catch (err) {
      if (this.patch !== patch || this.baseUri !== uri) return;
      this.base = { kind: 'error', path: uri.fsPath, label, message: oneLine(err) };
    }
    this.sendState();
  }

  private watchBase(uri: vscode.Uri): void {
    if (this.baseWatcher?.uri === uri.toString()) return;
    this.baseWatcher?.watcher.dispose();
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.joinPath(uri, '..'), baseName(uri.path)));
    const recheck = () => {
      if (this.recheckTimer) clearTimeout(this.recheckTimer);
      this.recheckTimer = setTimeout(() => void this.checkBase(), REPARSE_DELAY_MS);
    };
    const subscriptions = [watcher, watcher.onDidChange(recheck), watcher.onDidCreate(recheck), watcher.onDidDelete(recheck)];
    this.baseWatcher = { uri: uri.toString(), watcher: vscode.Disposable.from(...subscriptions) };
  }

  protected handle(request: ReviewRequest, token: vscode.CancellationToken): Promise<unknown> {
    if (!this.patch) return Promise.reject(new Error(this.parseError ?? 'the patch is not parsed yet'));
    return patchRequest(this.patch, request, token);
  }

  protected async onAction(action: ReviewAction): Promise<void> {
    switch (action) {
      case 'chooseBase': {
        if (!this.onDisk) return;
        const uri = await this.bases.choose(this.document.uri);
        if (uri) {
          this.baseUri = uri;
          await this.checkBase();
        }
        return;
      }
      case 'recheck':
        this.baseUri = undefined;
        return this.checkBase();
      case 'showText':
        await vscode.commands.executeCommand('vscode.openWith', this.document.uri, 'default');
        return;
      case 'apply':
      case 'bake':
      case 'revert': {
        // The view offers none of these when read-only; a message sent anyway is refused here.
        const label = action === 'apply' ? 'Apply' : action === 'bake' ? 'Bake' : 'Revert';
        if (!this.onDisk) {
          void vscode.window.showErrorMessage(`Tensorscope: ${label} is not available: this is ${this.notOnDisk()}, not the working copy.`);
          return;
        }
        if (refuseUntrustedWrite(label)) return;
        return this.exclusive(action, () => (action === 'revert' ? this.revert() : this.apply(action)));
      }
    }
  }

  /** One write at a time; the view greys its buttons meanwhile. */
  private async exclusive(action: string, fn: () => Promise<void>): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.post({ type: 'busy', action });
    try {
      await fn();
    } finally {
      this.busy = false;
      this.post({ type: 'busy', action: null });
    }
  }

  private async ensureBase(): Promise<vscode.Uri | undefined> {
    if (!this.baseUri) {
      this.baseUri = await this.bases.choose(this.document.uri);
      if (this.baseUri) await this.checkBase();
    }
    return this.baseUri;
  }

  /** Apply: base + patch into a file the user picks (the base itself applies in place). Bake: a new model beside the base. */
  private async apply(kind: 'apply' | 'bake'): Promise<void> {
    const patch = this.patch;
    const base = await this.ensureBase();
    if (!patch || !base) return;
    const sharded = /\.index\.json$/i.test(base.path);
    const stem = baseName(base.path).replace(/\.safetensors(\.index\.json)?$/i, '');
    let out: vscode.Uri | undefined;
    if (kind === 'apply') {
      out = await vscode.window.showSaveDialog({
        defaultUri: base,
        title: `Apply ${this.fileName}: write ${baseName(base.path)} + patch to…`,
        saveLabel: 'Apply',
        filters: sharded ? undefined : { 'Safetensors model': ['safetensors'] },
      });
    } else {
      out = vscode.Uri.joinPath(base, '..', sharded ? `${stem}.baked` : `${stem}.baked.safetensors`);
      if (await exists(out)) {
        const replace = await vscode.window.showWarningMessage(`${baseName(out.path)} exists. Replace it with ${baseName(base.path)} + ${this.fileName}?`, { modal: true }, 'Replace');
        if (replace !== 'Replace') return;
      }
    }
    if (!out) return;
    const target = out;
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Tensorscope: writing ${baseName(target.path)}…` },
      () => patch.request('patchApply', { basePath: base.fsPath, outPath: target.fsPath }),
    );
    this.showCheck(base, result.check);
    if (!result.written) {
      void vscode.window.showErrorMessage(`Tensorscope: ${this.fileName} does not fit ${baseName(base.path)} (${plural(result.check.conflictCount, 'conflict')}); nothing was written.`);
      return;
    }
    const inPlace = target.fsPath === base.fsPath;
    if (inPlace) await this.checkBase();
    const what = `${plural(this.overview?.hunks ?? 0, 'hunk')} of ${this.fileName}`;
    offerToOpen(
      inPlace ? `Tensorscope: applied ${what} to ${baseName(base.path)} in place.` : `Tensorscope: wrote ${this.label(target)} (${baseName(base.path)} + ${what}).`,
      inPlace || sharded ? undefined : target,
    );
  }

  private showCheck(base: vscode.Uri, check: PatchCheck): void {
    if (this.baseUri?.toString() !== base.toString()) return;
    this.base = { kind: 'checked', path: base.fsPath, label: this.label(base), check };
    this.sendState();
  }

  /** Writes the patch that undoes this one. */
  private async revert(): Promise<void> {
    const patch = this.patch;
    if (!patch) return;
    const stem = this.fileName.replace(/\.stpatch$/i, '');
    const out = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.joinPath(this.document.uri, '..', `${stem}.revert.stpatch`),
      title: `Revert ${this.fileName}: write the inverse patch to…`,
      saveLabel: 'Write Inverse Patch',
      filters: { 'Tensorscope patch': ['stpatch'] },
    });
    if (!out) return;
    const { hunks } = await patch.request('patchRevert', { outPath: out.fsPath });
    offerToOpen(`Tensorscope: wrote ${this.label(out)}, the inverse of ${this.fileName} (${plural(hunks, 'hunk')}).`, out);
  }

  /** Shows the hunk's lines in a text editor beside the view. */
  protected async onOpenHunkText(msg: Extract<ReviewFromWebview, { type: 'openHunkText' }>): Promise<void> {
    const { tensor, elements } = msg.hunk;
    const header = `@@ ${JSON.stringify(tensor)} elements ${elements[0]}:${elements[1]} `;
    const at = this.document.getText().indexOf(header);
    const position = this.document.positionAt(Math.max(0, at));
    await vscode.window.showTextDocument(this.document, { viewColumn: vscode.ViewColumn.Beside, selection: new vscode.Range(position, position), preview: true });
  }

  dispose(): void {
    if (this.reparseTimer) clearTimeout(this.reparseTimer);
    if (this.recheckTimer) clearTimeout(this.recheckTimer);
    this.baseWatcher?.watcher.dispose();
    this.generation++;
    this.patch?.dispose();
    super.dispose();
  }
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}

/**
 * Says what was written, with an "Open" button for `file`. Not awaited: the write is done, and
 * the message may sit unanswered in the notification center while the buttons stay usable.
 */
function offerToOpen(message: string, file: vscode.Uri | undefined): void {
  void vscode.window.showInformationMessage(message, ...(file ? ['Open'] : [])).then((answer) => {
    if (answer === 'Open' && file) void vscode.commands.executeCommand('vscode.open', file);
  });
}
