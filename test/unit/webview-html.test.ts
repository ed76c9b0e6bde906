// The webviews' one HTML shell, checked for every page that uses it: the strict CSP (no eval,
// no inline script or style), every script and style element nonce'd, the view's bundle before
// plotly's, and every asset under a local resource root and produced by the build (or in media/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { contentSecurityPolicy, modelEditorHtml, newNonce, webviewShellHtml, WEBVIEW_ROOTS, type WebviewShellOptions } from '../../src/extension/webviewHtml';
import { projectionViewHtml } from '../../src/extension/projection/projectionHtml';
import { reviewHtml } from '../../src/extension/review/reviewHtml';

const CSP_SOURCE = 'https://file+.vscode-resource.vscode-cdn.net';
const asset = (...segments: string[]) => `${CSP_SOURCE}/ext/${segments.join('/')}`;

const PAGES: { bundle: string; stylesheet: string; testId: string; html(opts: WebviewShellOptions): string }[] = [
  { bundle: 'modelEditor', stylesheet: 'modelEditor', testId: 'model-editor', html: modelEditorHtml },
  { bundle: 'projectionView', stylesheet: 'projectionView', testId: 'projection-view', html: projectionViewHtml },
  { bundle: 'patchEditor', stylesheet: 'review', testId: 'patchEditor', html: (o) => reviewHtml('patchEditor', { ...o, title: 'patch' }) },
  { bundle: 'compareView', stylesheet: 'review', testId: 'compareView', html: (o) => reviewHtml('compareView', { ...o, title: 'compare' }) },
];

test('the CSP allows no eval, no inline script and no inline style', () => {
  const csp = contentSecurityPolicy(CSP_SOURCE, 'abc');
  const directives = new Map(csp.split(';').map((d) => { const [k, ...v] = d.trim().split(/\s+/); return [k, v] as const; }));
  assert.deepEqual(directives.get('default-src'), ["'none'"]);
  assert.deepEqual(directives.get('script-src'), ["'nonce-abc'"]);
  assert.deepEqual(directives.get('style-src'), [CSP_SOURCE, "'nonce-abc'"]);
  assert.ok(!csp.includes('unsafe-eval') && !csp.includes('unsafe-inline'), csp);
});

for (const page of PAGES) {
  test(`${page.bundle}: every script and style element carries the nonce; no inline style attributes`, () => {
    const nonce = newNonce();
    assert.notEqual(nonce, newNonce(), 'a fresh nonce per page');
    const html = page.html({ cspSource: CSP_SOURCE, asset, nonce });
    assert.ok(html.includes(`content="${contentSecurityPolicy(CSP_SOURCE, nonce)}"`));
    const scripts = html.match(/<script\b[^>]*>/g) ?? [];
    assert.equal(scripts.length, 2);
    for (const s of scripts) assert.ok(s.includes(`nonce="${nonce}"`) && s.includes(' src="'), s);
    for (const s of html.match(/<style\b[^>]*>/g) ?? []) assert.ok(s.includes(`nonce="${nonce}"`), s);
    assert.ok(!/\sstyle="/.test(html));
    // The view's bundle runs before plotly (both deferred, in order), so its CSP shim is in place first.
    assert.ok(html.includes(`/dist/webviews/${page.bundle}.js"`), page.bundle);
    assert.ok(html.indexOf(`${page.bundle}.js`) < html.indexOf('plotly.min.js'));
    assert.ok(html.includes(`<div id="app" data-testid="${page.testId}">`));
    // The shared base stylesheet comes first, so the view's own rules override it.
    assert.ok(html.indexOf('media/base.css') > 0 && html.indexOf('media/base.css') < html.indexOf(`media/${page.stylesheet}.css`));
  });

  test(`${page.bundle}: every asset the page loads is under a local resource root and produced by the build config`, () => {
    const html = page.html({ cspSource: CSP_SOURCE, asset });
    const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    assert.ok(urls.length >= 4);
    const config = readFileSync(join(__dirname, '../../esbuild.config.mjs'), 'utf8');
    for (const url of urls) {
      const rel = url.slice(`${CSP_SOURCE}/ext/`.length);
      assert.ok(WEBVIEW_ROOTS.some((root) => rel.startsWith(root.join('/') + '/')), rel);
      // Built files are named in esbuild.config.mjs; media/ files exist in the repository.
      if (rel.startsWith('dist/')) assert.ok(config.includes(`'${rel}'`), `${rel} is not produced by esbuild.config.mjs`);
      else assert.ok(existsSync(join(__dirname, '../..', rel)), rel);
    }
  });
}

test('the page title and test id are HTML-escaped', () => {
  const html = webviewShellHtml({ bundle: 'compareView', stylesheet: 'review', fillPanel: false, testId: 'x"y', title: 'a <b> & "c"' }, { cspSource: CSP_SOURCE, asset });
  assert.ok(html.includes('<title>a &lt;b&gt; &amp; &quot;c&quot;</title>'));
  assert.ok(html.includes('data-testid="x&quot;y"'));
});
