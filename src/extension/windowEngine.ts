// The window's one engine: started lazily on first use, shared by every editor, disposed with
// the extension. Engine log lines go to the "Tensorscope" output channel; restarts are
// re-broadcast so open editors can re-request what they show.

import * as vscode from 'vscode';
import { EngineClient } from './engineClient';

export class WindowEngine implements vscode.Disposable {
  private started: EngineClient | undefined;
  private readonly restarted = new vscode.EventEmitter<string>();
  /** Fires with a one-line reason after the engine process was replaced. */
  readonly onDidRestart = this.restarted.event;

  constructor(
    private readonly enginePath: string,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  get client(): EngineClient {
    if (!this.started) {
      this.log.info(`starting engine ${this.enginePath}`);
      this.started = new EngineClient({
        enginePath: this.enginePath,
        onRestart: (reason) => {
          this.log.warn(`engine restarted: ${reason}`);
          this.restarted.fire(reason);
        },
        log: (line) => this.log.info(line),
      });
    }
    return this.started;
  }

  dispose(): void {
    this.started?.dispose();
    this.started = undefined;
    this.restarted.dispose();
  }
}
