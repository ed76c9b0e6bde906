// plotly.js (the CSP-safe strict bundle) is loaded by its own nonce'd <script> after ours;
// this waits for it and types the few calls the editor makes.

export interface PlotlyAxis {
  range: [number, number];
  /** Plot-area offset and length in CSS px, and pixel -> data conversion (plotly internals, stable for years). */
  _offset: number;
  _length: number;
  p2d(px: number): number;
}

export interface PlotDiv extends HTMLDivElement {
  _fullLayout?: { xaxis: PlotlyAxis; yaxis: PlotlyAxis; _size: { l: number; r: number; t: number; b: number; w: number; h: number } };
  on(event: string, handler: (ev: any) => void): void;
  removeAllListeners?(event: string): void;
}

export interface PlotlyApi {
  newPlot(div: HTMLElement, data: object[], layout: object, config?: object): Promise<PlotDiv>;
  react(div: HTMLElement, data: object[], layout: object, config?: object): Promise<PlotDiv>;
  relayout(div: HTMLElement, update: object): Promise<PlotDiv>;
  purge(div: HTMLElement): void;
  Plots: { resize(div: HTMLElement): Promise<void> };
}

let loading: Promise<PlotlyApi> | undefined;

export function plotly(): Promise<PlotlyApi> {
  loading ??= new Promise<PlotlyApi>((resolve, reject) => {
    const w = window as unknown as { Plotly?: PlotlyApi };
    if (w.Plotly) return resolve(w.Plotly);
    const script = document.getElementById('plotly-script');
    if (!script) return reject(new Error('plotly script element missing'));
    script.addEventListener('load', () => (w.Plotly ? resolve(w.Plotly) : reject(new Error('plotly did not load'))));
    script.addEventListener('error', () => reject(new Error('plotly failed to load')));
  });
  return loading;
}
