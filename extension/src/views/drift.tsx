/** The Drift tab: a service URL, its verdict and its drifted columns. */
import * as React from 'react';

import { formatNumber } from '../format';
import { DriftModel } from '../model/drift';

export function DriftView(props: { model: DriftModel }): JSX.Element {
  const { model } = props;
  const result = model.result;
  return (
    <div className="mlops-nb-drift">
      <form className="mlops-nb-toolbar" onSubmit={e => { e.preventDefault(); void model.check(); }}>
        <input className="jp-mod-styled" type="url" placeholder="http://127.0.0.1:8000"
          aria-label="service URL" value={model.url} onChange={e => model.setUrl(e.target.value)} />
        <button className="jp-Button" type="submit" disabled={model.loading}>Check drift</button>
      </form>
      {model.error ? <div className="mlops-nb-error" data-testid="drift-error">{model.error}</div> : null}
      {result ? (
        <div data-testid="drift-result">
          <p className={result.dataset_drift ? 'mlops-nb-drifted' : 'mlops-nb-stable'}>
            {result.dataset_drift ? 'Drift detected' : 'No drift'}: {result.n_drifted} of{' '}
            {result.n_columns} columns drifted ({formatNumber(result.drift_share * 100)}%).
          </p>
          <table className="mlops-nb-table">
            <thead>
              <tr><th>Column</th><th>Test</th><th>Score</th><th>Threshold</th></tr>
            </thead>
            <tbody>
              {model.driftedColumns.map(name => {
                const c = result.columns[name];
                return (
                  <tr key={name}>
                    <td>{name}</td><td>{c.stattest}</td>
                    <td>{formatNumber(c.score)}</td><td>{formatNumber(c.threshold)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
    </div>
  );
}
