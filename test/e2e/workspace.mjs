// Folders for one end-to-end run under test-results/e2e/, and the workspace the tests open:
// generated demo models (models/) plus malformed files from test/fixtures (broken/).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const resultsDir = join(repoRoot, 'test-results');

/** A fresh folder test-results/e2e/<name> (removed first). */
export function freshDir(name) {
  const dir = join(resultsDir, 'e2e', name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Writes the demo models with the project's writer (scripts/demo-models.ts). */
export function writeModels(outDir) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts', 'demo-models.ts'), outDir], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`generating models failed:\n${r.stdout}${r.stderr}`);
}

/** Creates `dir` with models/ and broken/ (every malformed fixture). */
export function makeWorkspace(dir) {
  mkdirSync(dir, { recursive: true });
  writeModels(join(dir, 'models'));
  const fixtures = join(repoRoot, 'test', 'fixtures', 'malformed');
  mkdirSync(join(dir, 'broken'), { recursive: true });
  for (const f of readdirSync(fixtures).filter((f) => f.endsWith('.safetensors'))) {
    copyFileSync(join(fixtures, f), join(dir, 'broken', f));
  }
  return dir;
}

/** User settings that keep the workbench quiet: no welcome page, chat, trust or update prompts. */
export const QUIET_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'chat.disableAIFeatures': true,
  'security.workspace.trust.enabled': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'update.mode': 'none',
  'telemetry.telemetryLevel': 'off',
  'git.enabled': false,
  'window.restoreWindows': 'none',
};

export function writeUserSettings(userDataDir, settings = QUIET_SETTINGS) {
  const userDir = join(userDataDir, 'User');
  mkdirSync(userDir, { recursive: true });
  writeFileSync(join(userDir, 'settings.json'), JSON.stringify(settings, null, 2));
}

/** Installs the working tree as an extension by linking it into `extensionsDir`. */
export function linkExtension(extensionsDir) {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  mkdirSync(extensionsDir, { recursive: true });
  const link = join(extensionsDir, `${pkg.publisher}.${pkg.name}-${pkg.version}`);
  rmSync(link, { recursive: true, force: true });
  symlinkSync(repoRoot, link, 'dir');
  return link;
}
