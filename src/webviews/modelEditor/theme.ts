// VS Code's theme inside the webview: colours from its CSS variables, dark or light from the
// body class, and a callback when the user switches themes (VS Code changes the body class).

export interface ThemeColors {
  dark: boolean;
  foreground: string;
  background: string;
  muted: string;
  border: string;
  accent: string;
  fontFamily: string;
  fontSize: number;
}

export function themeColors(): ThemeColors {
  const css = getComputedStyle(document.body);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  const dark = document.body.classList.contains('vscode-dark') || document.body.classList.contains('vscode-high-contrast');
  return {
    dark,
    foreground: v('--vscode-editor-foreground', dark ? '#cccccc' : '#333333'),
    background: v('--vscode-editor-background', dark ? '#1e1e1e' : '#ffffff'),
    muted: v('--vscode-descriptionForeground', dark ? '#9d9d9d' : '#717171'),
    border: v('--vscode-panel-border', dark ? '#444444' : '#d0d0d0'),
    accent: v('--vscode-focusBorder', '#0078d4'),
    fontFamily: v('--vscode-font-family', 'sans-serif'),
    fontSize: parseFloat(v('--vscode-font-size', '13')) || 13,
  };
}

export function onThemeChange(callback: () => void): void {
  let last = document.body.className;
  new MutationObserver(() => {
    if (document.body.className === last) return;
    last = document.body.className;
    callback();
  }).observe(document.body, { attributes: true, attributeFilter: ['class'] });
}
