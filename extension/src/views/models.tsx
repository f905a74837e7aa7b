/** The Models tab: registered models, a model's versions (aliases, gates), its card, Promote. */
import * as React from 'react';

import { VersionSummary } from '../api';
import { ModelsModel } from '../model/models';
import { PromoteForm, PromotionOutcome } from './promotion';

function gates(v: VersionSummary): string {
  return v.gates_passed === null ? '–' : v.gates_passed ? '✓ passed' : '✗ failed';
}

export function ModelsView(props: { model: ModelsModel; notebook: string | null }): JSX.Element {
  const { model, notebook } = props;
  React.useEffect(() => {
    void model.load(notebook);
  }, [notebook]);
  const detail = model.selected;
  return (
    <div className="mlops-nb-models">
      <PromoteForm askSource initialName={detail?.name ?? ''} running={model.promotion.running}
        onSubmit={(source, form) =>
          void model.promotion.promote(source, form, notebook).then(r => model.promoted(r))} />
      <PromotionOutcome promotion={model.promotion} />
      {model.loading ? <p data-testid="models-loading">Reading the registry…</p> : null}
      {model.error ? <div className="mlops-nb-error" data-testid="models-error">{model.error}</div> : null}
      {model.models && model.models.models.length === 0 ? (
        <p data-testid="models-empty">
          No registered models in {model.models.tracking_uri}. Promote a tracked run (its id is in
          the Runs tab) or run <code>mlops-nb promote RUN_ID --name NAME</code>.
        </p>
      ) : null}
      {model.models && model.models.models.length > 0 ? (
        <table className="mlops-nb-table" data-testid="models-table">
          <thead><tr><th>Model</th><th>Latest</th><th>Aliases</th></tr></thead>
          <tbody>
            {model.models.models.map(m => (
              <tr key={m.name} className={detail?.name === m.name ? 'mlops-nb-selected' : ''}
                onClick={() => void model.select(m.name)}>
                <td><a href="#" onClick={e => e.preventDefault()}>{m.name}</a></td>
                <td>{m.latest_version ?? '–'}</td>
                <td>{Object.entries(m.aliases).map(([a, v]) => `@${a}→v${v}`).join(', ') || '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {detail ? (
        <div data-testid="model-detail">
          <h3>{detail.name}</h3>
          <table className="mlops-nb-table" data-testid="versions-table">
            <thead><tr><th>Version</th><th>Aliases</th><th>Gates</th><th>Run</th><th /></tr></thead>
            <tbody>
              {detail.versions.map(v => (
                <tr key={v.version} data-testid={`version-${v.version}`}>
                  <td>{v.version}</td>
                  <td>{v.aliases.map(a => `@${a}`).join(', ') || '–'}</td>
                  <td title={v.last_decision?.gates.map(g => `${g.gate}: ${g.status}`).join('\n') ?? ''}>
                    {gates(v)}
                  </td>
                  <td>{v.run_id ? v.run_id.slice(0, 8) : '–'}</td>
                  <td><button className="jp-Button" onClick={() => void model.showCard(v.version)}>Card</button></td>
                </tr>
              ))}
            </tbody>
          </table>
          {detail.history.length > 0 ? (
            <ul className="mlops-nb-history" data-testid="alias-history">
              {detail.history.map((h, i) => (
                <li key={i}>
                  {h.at.slice(0, 19).replace('T', ' ')} @{h.alias}:{' '}
                  {h.moved
                    ? `v${h.from_version ?? '–'} → v${h.to_version}${h.forced ? ` (forced: ${h.reason})` : ''}`
                    : `v${h.to_version} refused (${h.failed_gates.join(', ')} failed)`}
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
      {model.card ? (
        // the server renders the card with every value HTML-escaped (mlops_nb/registry/card.py)
        <div className="mlops-nb-card" data-testid="model-card"
          dangerouslySetInnerHTML={{ __html: model.card.html }} />
      ) : null}
    </div>
  );
}
