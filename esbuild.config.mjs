// Bundles: the extension host, the engine (also the CLI), and one bundle per webview.
import * as esbuild from 'esbuild';
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const common = { bundle: true, sourcemap: true, logLevel: 'warning', legalComments: 'none' };

const builds = [
  // Extension host: vscode is provided by VS Code at run time.
  { ...common, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', platform: 'node', format: 'cjs', target: 'node20', external: ['vscode'] },
  // Engine child process and CLI: one file; onnxruntime-node stays external (native binary).
  { ...common, entryPoints: ['src/engine/cli.ts'], outfile: 'dist/cli.js', platform: 'node', format: 'cjs', target: 'node20', external: ['onnxruntime-node'], banner: { js: '#!/usr/bin/env node' } },
  // Projection worker thread (UMAP off the engine's main thread), loaded from next to dist/cli.js.
  { ...common, entryPoints: ['src/engine/projection/worker.ts'], outfile: 'dist/projectionWorker.js', platform: 'node', format: 'cjs', target: 'node20', external: ['onnxruntime-node'] },
  // Webviews: browser bundles, one per view.
  { ...common, entryPoints: ['src/webviews/modelEditor/main.ts'], outfile: 'dist/webviews/modelEditor.js', platform: 'browser', format: 'iife', target: 'es2022' },
  { ...common, entryPoints: ['src/webviews/patchEditor/main.ts'], outfile: 'dist/webviews/patchEditor.js', platform: 'browser', format: 'iife', target: 'es2022' },
  { ...common, entryPoints: ['src/webviews/compareView/main.ts'], outfile: 'dist/webviews/compareView.js', platform: 'browser', format: 'iife', target: 'es2022' },
  { ...common, entryPoints: ['src/webviews/projectionView/main.ts'], outfile: 'dist/webviews/projectionView.js', platform: 'browser', format: 'iife', target: 'es2022' },
];

// Webview assets served from dist/webviews, so the packaged extension needs no node_modules:
// plotly's CSP-safe strict bundle (loaded as its own nonce'd script) and the codicon font.
function copyWebviewAssets() {
  const copies = [
    ['node_modules/plotly.js-strict-dist-min/plotly-strict.min.js', 'dist/webviews/plotly.min.js'],
    ['node_modules/@vscode/codicons/dist/codicon.css', 'dist/webviews/codicons/codicon.css'],
    ['node_modules/@vscode/codicons/dist/codicon.ttf', 'dist/webviews/codicons/codicon.ttf'],
  ];
  for (const [from, to] of copies) {
    mkdirSync(to.slice(0, to.lastIndexOf('/')), { recursive: true });
    copyFileSync(from, to);
  }
}

copyWebviewAssets();
if (watch) {
  for (const b of builds) (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  chmodSync('dist/cli.js', 0o755);
}
