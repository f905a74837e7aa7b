/** The Drift tab: a service URL, then the notebook's own drift widget (verdict, per-column
 * table, distributions, full report on demand), or a neutral "collecting traffic" state. */
import * as React from 'react';

import { DriftWidgetState } from '../api';
import { DriftModel, REFRESH_CHOICES_S } from '../model/drift';

type Listener = (msg?: unknown) => void;

/** Renders the widget's ES module (the same file the notebook widget loads) with a model that
 * answers from the server's state; "load-report" asks the server for the Evidently report. */
function WidgetHost(props: { model: DriftModel; state: DriftWidgetState }): JSX.Element {
  const { model, state } = props;
  const ref = React.useRef<HTMLDivElement>(null);
  const listeners = React.useRef<Map<string, Listener[]>>(new Map());
  const [error, setError] = React.useState<string | null>(null);
  const fire = (event: string, msg?: unknown) => (listeners.current.get(event) ?? []).forEach(cb => cb(msg));

  React.useEffect(() => {
    let alive = true;
    let url: string | null = null;
    listeners.current = new Map();
    model
      .widgetModule()
      .then(async mod => {
        if (!alive || !ref.current) {
          return;
        }
        injectCss(mod.css);
        url = URL.createObjectURL(new Blob([mod.esm], { type: 'text/javascript' }));
        const widget = await import(/* webpackIgnore: true */ url);
        if (!alive || !ref.current) {
          return;
        }
        const values: Record<string, unknown> = { ...state, report_error: '' };
        const fake = {
          get: (key: string) => (key === 'report_state' ? reportState(model, state) : key === 'report_error' ? model.reportError : values[key]),
          on: (event: string, cb: Listener) => listeners.current.set(event, [...(listeners.current.get(event) ?? []), cb]),
          send: (msg: { type?: string }) => {
            if (msg?.type === 'load-report') {
              void model.loadReport();
            }
          }
        };
        ref.current.replaceChildren();
        (widget.default ?? widget).render({ model: fake, el: ref.current });
        if (model.report) {
          fire('msg:custom', { type: 'report', html: model.report });
        }
      })
      .catch(e => alive && setError(String(e)));
    return () => {
      alive = false;
      if (url) {
        URL.revokeObjectURL(url);
      }
    };
  }, [state]);

  // the report's progress, as the kernel-side widget would sync it
  React.useEffect(() => {
    fire('change:report_state');
    fire('change:report_error');
    if (model.reportState === 'ready' && model.report) {
      fire('msg:custom', { type: 'report', html: model.report });
    }
  }, [model.reportState, model.report]);

  return (
    <div data-testid="drift-widget">
      <div ref={ref} />
      {error ? <div className="mlops-nb-error">The drift widget failed to load: {error}</div> : null}
    </div>
  );
}

function reportState(model: DriftModel, state: DriftWidgetState): string {
  if (state.report_state === 'unavailable') {
    return 'unavailable';
  }
  return model.reportState === 'loading' ? 'loading' : model.reportState === 'error' ? 'error' : 'idle';
}

let cssInjected = false;

function injectCss(css: string): void {
  if (cssInjected) {
    return;
  }
  const style = document.createElement('style');
  style.dataset.mlopsNb = 'drift-widget';
  style.textContent = css;
  document.head.append(style);
  cssInjected = true;
}

export function DriftView(props: { model: DriftModel }): JSX.Element {
  const { model } = props;
  const result = model.result;
  return (
    <div className="mlops-nb-drift">
      <form className="mlops-nb-toolbar" onSubmit={e => { e.preventDefault(); void model.check(); }}>
        <input className="jp-mod-styled" type="url" placeholder="http://127.0.0.1:8000"
          aria-label="service URL" value={model.url} onChange={e => model.setUrl(e.target.value)} />
        <button className="jp-Button jp-mod-accept" type="submit" disabled={model.loading}>
          {model.loading ? 'Checking…' : 'Check drift'}
        </button>
        <label>
          refresh{' '}
          <select className="jp-mod-styled" aria-label="refresh every" value={model.refreshSeconds}
            onChange={e => model.setRefresh(Number(e.target.value))}>
            {REFRESH_CHOICES_S.map(s => (
              <option key={s} value={s}>{s === 0 ? 'on demand' : `every ${s} s`}</option>
            ))}
          </select>
        </label>
      </form>
      {model.error ? <div className="mlops-nb-error" data-testid="drift-error">{model.error}</div> : null}
      {result && result.state !== 'ready' ? (
        <div className="mlops-nb-neutral" data-testid="drift-waiting" data-state={result.state}>
          <strong>{result.message.charAt(0).toUpperCase() + result.message.slice(1)}</strong>
          {result.state === 'collecting' && result.min_rows ? (
            <progress max={result.min_rows} value={result.current_rows ?? 0} />
          ) : null}
          <div className="mlops-nb-hint">The verdict appears once the service has seen enough inputs.</div>
        </div>
      ) : null}
      {result && result.state === 'ready' && result.widget ? (
        <div data-testid="drift-result" data-drift={String(result.widget.summary.dataset_drift)}>
          <WidgetHost model={model} state={result.widget} />
        </div>
      ) : null}
    </div>
  );
}
