/** A plotly chart, with plotly (bundled, no CDN) loaded on first use in its own chunk, so
 * JupyterLab does not load it until a chart is shown. */
import * as React from 'react';

type Plotly = {
  react: (el: HTMLElement, data: unknown[], layout: unknown, config: unknown) => Promise<unknown>;
  purge: (el: HTMLElement) => void;
};

let plotly: Promise<Plotly> | null = null;

export function loadPlotly(): Promise<Plotly> {
  if (plotly === null) {
    plotly = import(/* webpackChunkName: "plotly" */ 'plotly.js-dist-min').then(
      (m: any) => (m.default ?? m) as Plotly
    );
  }
  return plotly;
}

export interface IChartProps {
  data: unknown[];
  layout: Record<string, unknown>;
  testid: string;
  height?: number;
  /** what the chart shows, for assistive technology and tests */
  label: string;
}

export function Chart(props: IChartProps): JSX.Element {
  const ref = React.useRef<HTMLDivElement>(null);
  const [state, setState] = React.useState<'loading' | 'ready' | 'error'>('loading');
  const [error, setError] = React.useState('');
  const height = props.height ?? 220;
  React.useEffect(() => {
    let alive = true;
    const el = ref.current;
    loadPlotly()
      .then(p => {
        if (!alive || !el) {
          return;
        }
        const layout = {
          height,
          margin: { l: 48, r: 12, t: 24, b: 36 },
          font: { size: 10 },
          paper_bgcolor: 'rgba(0,0,0,0)',
          plot_bgcolor: 'rgba(0,0,0,0)',
          ...props.layout
        };
        return p.react(el, props.data, layout, { displayModeBar: false, responsive: true }).then(() => {
          if (alive) {
            setState('ready');
          }
        });
      })
      .catch(e => {
        if (alive) {
          setState('error');
          setError(String(e));
        }
      });
    return () => {
      alive = false;
    };
  }, [props.data, props.layout, height]);
  React.useEffect(() => {
    const el = ref.current;
    return () => {
      if (el && plotly) {
        void plotly.then(p => p.purge(el));
      }
    };
  }, []);
  return (
    <figure className="mlops-nb-chart" data-testid={props.testid} data-state={state} aria-label={props.label}>
      <div ref={ref} style={{ minHeight: height }} />
      {state === 'error' ? <figcaption className="mlops-nb-error">Chart failed: {error}</figcaption> : null}
    </figure>
  );
}
