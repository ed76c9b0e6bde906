// The clustering view's page: the shared webview shell (strict CSP, codicons, plotly's strict
// bundle, which draws scattergl and scatter3d without eval) with the view's bundle and stylesheet.

import { webviewShellHtml, type WebviewShellOptions } from '../webviewHtml';

export function projectionViewHtml(opts: WebviewShellOptions): string {
  return webviewShellHtml({ bundle: 'projectionView', stylesheet: 'projectionView', fillPanel: true, testId: 'projection-view', title: 'Tensorscope projection' }, opts);
}
