// The webview's CSP has no 'unsafe-inline' for styles. plotly sets a few SVG style
// attributes with setAttribute('style', ...) (e.g. image-rendering on heatmap images), which
// that CSP blocks with a console error. Setting the same declarations through the CSSOM
// (element.style.cssText) is allowed and has the same effect, so route them there. Only
// script-made attributes are affected; markup parsed from HTML is still subject to the CSP.

const setAttribute = Element.prototype.setAttribute;

Element.prototype.setAttribute = function (this: Element, name: string, value: string): void {
  if (name === 'style' && (this instanceof HTMLElement || this instanceof SVGElement)) {
    this.style.cssText = String(value);
    return;
  }
  setAttribute.call(this, name, value);
};
