// Bundles: the extension host, the engine (also the CLI), and one bundle per webview.
import * as esbuild from 'esbuild';
import { chmodSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const common = { bundle: true, sourcemap: true, logLevel: 'warning', legalComments: 'none' };

const builds = [
  // Extension host: vscode is provided by VS Code at run time.
  { ...common, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', platform: 'node', format: 'cjs', target: 'node20', external: ['vscode'] },
  // Engine child process and CLI: one file; onnxruntime-node stays external (native binary).
  { ...common, entryPoints: ['src/engine/cli.ts'], outfile: 'dist/cli.js', platform: 'node', format: 'cjs', target: 'node20', external: ['onnxruntime-node'], banner: { js: '#!/usr/bin/env node' } },
  // Webviews: browser bundles, one per view.
  { ...common, entryPoints: ['src/webviews/modelEditor/main.ts'], outfile: 'dist/webviews/modelEditor.js', platform: 'browser', format: 'iife', target: 'es2022' },
];

if (watch) {
  for (const b of builds) (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  chmodSync('dist/cli.js', 0o755);
}
