// The clustering view's HTML shell: the strict CSP (no eval, no inline script or style), every
// script and style element nonce'd, our bundle before plotly's, and every asset under a local
// resource root and produced by the build (or present in media/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectionViewHtml } from '../../src/extension/projection/projectionHtml';
import { contentSecurityPolicy, newNonce, WEBVIEW_ROOTS } from '../../src/extension/webviewHtml';

const CSP_SOURCE = 'https://file+.vscode-resource.vscode-cdn.net';
const asset = (...segments: string[]) => `${CSP_SOURCE}/ext/${segments.join('/')}`;

test('strict CSP with this page’s nonce on every script and style; no inline style attributes', () => {
  const nonce = newNonce();
  const html = projectionViewHtml({ cspSource: CSP_SOURCE, asset, nonce });
  const csp = contentSecurityPolicy(CSP_SOURCE, nonce);
  assert.ok(html.includes(`content="${csp}"`));
  assert.ok(!csp.includes('unsafe-eval') && !csp.includes('unsafe-inline'), csp);
  const scripts = html.match(/<script\b[^>]*>/g) ?? [];
  assert.equal(scripts.length, 2);
  for (const s of scripts) assert.ok(s.includes(`nonce="${nonce}"`) && s.includes(' src="'), s);
  for (const s of html.match(/<style\b[^>]*>/g) ?? []) assert.ok(s.includes(`nonce="${nonce}"`), s);
  assert.ok(!/\sstyle="/.test(html));
  // Our bundle (with its CSP shim) runs before plotly: both deferred, in document order.
  assert.ok(html.indexOf('projectionView.js') < html.indexOf('plotly.min.js'));
  assert.ok(html.includes('data-testid="projection-view"'));
});

test('every asset is under a local resource root and produced by the build or in media/', () => {
  const html = projectionViewHtml({ cspSource: CSP_SOURCE, asset });
  const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
  assert.ok(urls.length >= 4);
  const config = readFileSync(join(__dirname, '../../esbuild.config.mjs'), 'utf8');
  for (const url of urls) {
    const rel = url.slice(`${CSP_SOURCE}/ext/`.length);
    assert.ok(WEBVIEW_ROOTS.some((root) => rel.startsWith(root.join('/') + '/')), rel);
    if (rel.startsWith('dist/')) assert.ok(config.includes(`'${rel}'`), `${rel} is not produced by esbuild.config.mjs`);
    else assert.ok(existsSync(join(__dirname, '../..', rel)), rel);
  }
});
