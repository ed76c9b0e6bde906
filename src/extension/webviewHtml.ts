// The webviews' one HTML shell with a strict Content Security Policy: scripts only with this
// page's nonce, no eval, styles only from the extension or the nonce'd style element.
// Assets are served from dist/webviews (bundles, plotly, codicons copied at build time) and
// media/ (the stylesheets), so the packaged extension needs no node_modules for the webview.
// No `vscode` import: the shell is a pure function of the webview's CSP source and asset URIs.

import { randomBytes } from 'node:crypto';

/** Folders the webview may load from, relative to the extension root. */
export const WEBVIEW_ROOTS = [['dist', 'webviews'], ['media']];

export interface WebviewShellOptions {
  /** webview.cspSource */
  cspSource: string;
  /** The webview URI of a file under the extension root. */
  asset(...segments: string[]): string;
  /** Defaults to 18 random bytes. */
  nonce?: string;
}

export function newNonce(): string {
  return randomBytes(18).toString('base64');
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data: blob:`,
    // No 'unsafe-inline': plotly adds its rules through the nonce'd <style> below (CSSOM).
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
  ].join('; ');
}

/** What differs between the webview pages; everything else (CSP, codicons, plotly) is shared. */
export interface WebviewPage {
  /** The view's bundle, dist/webviews/<bundle>.js; it runs before plotly (both deferred, in order). */
  bundle: string;
  /** The view's stylesheet, media/<stylesheet>.css, loaded after the shared media/base.css. */
  stylesheet: string;
  /** The view lays itself out in the whole panel and scrolls inside its parts (base.css `fill-panel`). */
  fillPanel: boolean;
  /** data-testid of the #app element the bundle draws into. */
  testId: string;
  /** Page title (escaped here). */
  title: string;
}

/** The one HTML shell every Tensorscope webview uses. */
export function webviewShellHtml(page: WebviewPage, opts: WebviewShellOptions): string {
  const nonce = opts.nonce ?? newNonce();
  const { asset } = opts;
  return `<!DOCTYPE html>
<html lang="en"${page.fillPanel ? ' class="fill-panel"' : ''}>
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(opts.cspSource, nonce)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" id="vscode-codicon-stylesheet" href="${asset('dist', 'webviews', 'codicons', 'codicon.css')}">
<link rel="stylesheet" href="${asset('media', 'base.css')}">
<link rel="stylesheet" href="${asset('media', `${page.stylesheet}.css`)}">
<style id="plotly.js-style-global" nonce="${nonce}"></style>
<!-- plotly's bundled map library injects its CSS unless an element with this id exists; maps are unused here. -->
<template id="9f215cf04c5486422605d13261cb87401f4e7763b6296af81e98efbc0130da53"></template>
<title>${escapeHtml(page.title)}</title>
</head>
<body>
<div id="app" data-testid="${escapeHtml(page.testId)}"></div>
<script nonce="${nonce}" src="${asset('dist', 'webviews', `${page.bundle}.js`)}" defer></script>
<script nonce="${nonce}" id="plotly-script" src="${asset('dist', 'webviews', 'plotly.min.js')}" defer></script>
</body>
</html>`;
}

export function modelEditorHtml(opts: WebviewShellOptions): string {
  return webviewShellHtml({ bundle: 'modelEditor', stylesheet: 'modelEditor', fillPanel: true, testId: 'model-editor', title: 'Tensorscope' }, opts);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
