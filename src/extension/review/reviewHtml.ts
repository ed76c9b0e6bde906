// The review webviews' page (patch editor, patch changes, model comparison): the shared webview
// shell with one bundle per view and the review stylesheet.

import { webviewShellHtml, type WebviewShellOptions } from '../webviewHtml';

export type ReviewBundle = 'patchEditor' | 'compareView';

export function reviewHtml(bundle: ReviewBundle, opts: WebviewShellOptions & { title: string }): string {
  return webviewShellHtml({ bundle, stylesheet: 'review', fillPanel: false, testId: bundle, title: opts.title }, opts);
}
