// The clustering view's HTML shell: the model editor's strict Content Security Policy (scripts
// only with this page's nonce, no eval: plotly's strict bundle draws scattergl and scatter3d
// without it), its codicons and plotly assets, and the view's own bundle and stylesheet.
// No `vscode` import: a pure function of the webview's CSP source and asset URIs.

import { contentSecurityPolicy, newNonce, type WebviewShellOptions } from '../webviewHtml';

export function projectionViewHtml(opts: WebviewShellOptions): string {
  const nonce = opts.nonce ?? newNonce();
  const { asset } = opts;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(opts.cspSource, nonce)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" id="vscode-codicon-stylesheet" href="${asset('dist', 'webviews', 'codicons', 'codicon.css')}">
<link rel="stylesheet" href="${asset('media', 'projectionView.css')}">
<style id="plotly.js-style-global" nonce="${nonce}"></style>
<!-- plotly's bundled map library injects its CSS unless an element with this id exists; maps are unused here. -->
<template id="9f215cf04c5486422605d13261cb87401f4e7763b6296af81e98efbc0130da53"></template>
<title>Tensorscope projection</title>
</head>
<body>
<div id="app" data-testid="projection-view"></div>
<script nonce="${nonce}" src="${asset('dist', 'webviews', 'projectionView.js')}" defer></script>
<script nonce="${nonce}" id="plotly-script" src="${asset('dist', 'webviews', 'plotly.min.js')}" defer></script>
</body>
</html>`;
}
