// What every UI test does in VS Code: code-server with this working tree installed as its
// extension, headless Chromium on the workbench, screenshots, and the palette / Quick Open /
// webview steps a user takes. Each test file makes one session: `vscodeSession('ui')`.
import { it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium, startCodeServer, workbenchUrl } from './codeServer.mjs';
import { QUIET_SETTINGS, freshDir, linkExtension, repoRoot, writeUserSettings } from './workspace.mjs';

/** The tensorscope CLI of this build (dist/cli.js): its spawnSync result. */
export function runCli(...args) {
  return spawnSync(process.execPath, [join(repoRoot, 'dist', 'cli.js'), ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
}

/** The CLI's stdout; fails the test when it exits non-zero. */
export function cli(...args) {
  const r = runCli(...args);
  assert.equal(r.status, 0, `tensorscope ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/**
 * One test file's VS Code session; its files (workspace, user data, screenshots) go to
 * test-results/e2e/<name>/. Methods are plain functions, so they can be destructured.
 */
export function vscodeSession(name) {
  const dir = freshDir(name);
  const shots = join(dir, 'screenshots');
  mkdirSync(shots, { recursive: true });
  let shotCount = 0;

  const s = {
    dir,
    /** Set by start(). */
    page: undefined,
    browser: undefined,
    server: undefined,
    /** CSP violations in any frame, webviews included (when started with watchCsp). */
    cspViolations: [],

    /**
     * Starts code-server and Chromium on `folder`; resolves with the page once the workbench shows.
     * opts: settings (user settings, default QUIET_SETTINGS), watchCsp (collect CSP violations),
     * workspaceTrust (keep VS Code's Workspace Trust on, see startCodeServer).
     */
    async start(folder, opts = {}) {
      const userDataDir = join(dir, 'user-data');
      writeUserSettings(userDataDir, opts.settings ?? QUIET_SETTINGS);
      const extensionsDir = join(dir, 'extensions');
      linkExtension(extensionsDir);
      const scratch = { TMPDIR: join(dir, 'tmp'), HOME: join(dir, 'home'), XDG_CONFIG_HOME: join(dir, 'home', '.config') };
      mkdirSync(scratch.TMPDIR, { recursive: true });
      mkdirSync(scratch.HOME, { recursive: true });
      s.server = await startCodeServer({ userDataDir, extensionsDir, env: scratch, workspaceTrust: opts.workspaceTrust });
      s.browser = await launchChromium(join(dir, 'chromium-profile'), scratch);
      const page = (s.page = s.browser.pages()[0] ?? (await s.browser.newPage()));
      if (opts.watchCsp) {
        // A webview's CSP violations never reach the page's console events; they arrive as DevTools issues.
        const cdp = await s.browser.newCDPSession(page);
        cdp.on('Audits.issueAdded', ({ issue }) => {
          if (issue.code === 'ContentSecurityPolicyIssue') s.cspViolations.push(JSON.stringify(issue.details.contentSecurityPolicyIssueDetails ?? issue.details));
        });
        await cdp.send('Audits.enable');
      }
      await page.goto(workbenchUrl(s.server, folder));
      await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
      return page;
    },

    async stop() {
      await s.browser?.close().catch(() => {});
      s.server?.stop();
    },

    /** Saves a numbered screenshot of the page; returns its path. */
    async screenshot(label) {
      const path = join(shots, `${String(++shotCount).padStart(2, '0')}-${label}.png`);
      await s.page.screenshot({ path });
      return path;
    },

    /** it() that saves a screenshot when the test fails (what was on screen explains most failures). */
    step(title, fn) {
      it(title, async () => {
        try {
          await fn();
        } catch (err) {
          await s.screenshot(`FAILED-${title.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)}`).catch(() => {});
          throw err;
        }
      });
    },

    /** The webview of the active editor (VS Code nests it in two iframes). */
    webview() {
      return s.page.frameLocator('iframe.webview.ready').last().frameLocator('#active-frame');
    },

    /** The frame of a webview whose document holds `selector`. */
    async webviewFrame(selector, timeout = 30_000) {
      const deadline = Date.now() + timeout;
      for (;;) {
        for (const frame of s.page.frames()) {
          if (await frame.locator(selector).count().catch(() => 0)) return frame;
        }
        assert.ok(Date.now() < deadline, `no webview shows ${selector}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },

    /** Opens the palette (F1) or Quick Open (Control+P) and types `text`. */
    async quickInput(prefixKey, text) {
      await s.page.keyboard.press(prefixKey);
      const input = s.page.locator('.quick-input-widget input');
      await input.waitFor({ state: 'visible' });
      await input.fill(text);
    },

    /** Runs a command by its palette title. */
    async runCommand(title) {
      await s.quickInput('F1', `>${title}`);
      await s.page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor();
      await s.page.keyboard.press('Enter');
    },

    /** Opens a file through Quick Open: types `query`, picks the first row showing `rowText`. */
    async quickOpen(query, rowText = query) {
      await s.quickInput('Control+P', query);
      await s.page.locator('.quick-input-list .monaco-list-row', { hasText: rowText }).first().waitFor();
      await s.page.keyboard.press('Enter');
    },

    /**
     * Waits until the extension's command `title` is in the palette, then closes the palette
     * (keepOpen: leaves it showing the command). Until the extension's contributions are
     * registered a model file would open in the text editor (and VS Code would remember
     * that), so tests wait for this first.
     */
    async waitForCommand(title, { keepOpen = false, timeout = 60_000 } = {}) {
      const deadline = Date.now() + timeout;
      for (;;) {
        await s.quickInput('F1', `>${title}`);
        const row = s.page.locator('.quick-input-list .monaco-list-row', { hasText: title });
        const found = await row.first().waitFor({ timeout: 2000 }).then(() => true, () => false);
        if (found && keepOpen) return;
        await s.page.keyboard.press('Escape');
        if (found) return;
        assert.ok(Date.now() < deadline, `"${title}" never appeared in the command palette`);
      }
    },
  };
  return s;
}

/** Waits until `read()` gives a value matching `pattern` (text that updates after a debounce or a fill). */
export async function until(read, pattern, what, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  let value;
  for (;;) {
    value = await read().catch(() => undefined);
    if (typeof value === 'string' && pattern.test(value)) return value;
    assert.ok(Date.now() < deadline, `${what}: ${JSON.stringify(value)} does not match ${pattern}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
