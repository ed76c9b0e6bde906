// The HTML shell of the review webviews (patch editor, patch changes, model comparison): the
// model editor's strict Content Security Policy (scripts only with this page's nonce, no
// eval, styles from the extension or the nonce'd element plotly writes into), one bundle
// per view, plotly's CSP-safe strict bundle. No `vscode` import (a pure function).

import { contentSecurityPolicy, newNonce, type WebviewShellOptions } from '../webviewHtml';

export type ReviewBundle = 'patchEditor' | 'compareView';

export function reviewHtml(bundle: ReviewBundle, opts: WebviewShellOptions & { title: string }): string {
  const nonce = opts.nonce ?? newNonce();
  const { asset } = opts;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(opts.cspSource, nonce)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" id="vscode-codicon-stylesheet" href="${asset('dist', 'webviews', 'codicons', 'codicon.css')}">
<link rel="stylesheet" href="${asset('media', 'review.css')}">
<style id="plotly.js-style-global" nonce="${nonce}"></style>
<!-- plotly's bundled map library injects its CSS unless an element with this id exists; maps are unused here. -->
<template id="9f215cf04c5486422605d13261cb87401f4e7763b6296af81e98efbc0130da53"></template>
<title>${escapeHtml(opts.title)}</title>
</head>
<body>
<div id="app" data-testid="${bundle}"></div>
<script nonce="${nonce}" src="${asset('dist', 'webviews', `${bundle}.js`)}" defer></script>
<script nonce="${nonce}" id="plotly-script" src="${asset('dist', 'webviews', 'plotly.min.js')}" defer></script>
</body>
</html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
