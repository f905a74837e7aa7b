/** The Models tab: registered models, a model's versions (aliases, gates), its card, Promote. */
import * as React from 'react';

import { ModelsModel, parseRequirements } from '../model/models';
import { IVersionSummary } from '../registry';

const MARK: Record<string, string> = { passed: '✓', failed: '✗', skipped: '–', done: '✓' };

function PromoteForm(props: { model: ModelsModel }): JSX.Element {
  const { model } = props;
  const [source, setSource] = React.useState('');
  const [name, setName] = React.useState(model.selected?.name ?? '');
  const [alias, setAlias] = React.useState('champion');
  const [require, setRequire] = React.useState('');
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    void model.promote({ source: source.trim(), name: name.trim(), alias: alias.trim() || 'champion',
      require: parseRequirements(require) });
  };
  return (
    <form className="mlops-nb-promote" onSubmit={submit} data-testid="promote-form">
      <input className="jp-mod-styled" placeholder="run id" aria-label="run id" value={source}
        onChange={e => setSource(e.target.value)} />
      <input className="jp-mod-styled" placeholder="model name" aria-label="model name" value={name}
        onChange={e => setName(e.target.value)} />
      <input className="jp-mod-styled" placeholder="alias" aria-label="alias" value={alias}
        onChange={e => setAlias(e.target.value)} />
      <input className="jp-mod-styled" placeholder="accuracy>=0.9, ..." aria-label="requirements"
        value={require} onChange={e => setRequire(e.target.value)} />
      <button className="jp-Button" type="submit" disabled={model.promotion.running || !source || !name}>
        Promote
      </button>
    </form>
  );
}

function Promotion(props: { model: ModelsModel }): JSX.Element | null {
  const { model } = props;
  const job = model.promotion;
  if (!job.job && !job.error) {
    return null;
  }
  const result = model.result;
  return (
    <div className="mlops-nb-promotion" data-testid="promotion">
      <ul>
        {model.gateEvents.map((e, i) => (
          <li key={i} className={`mlops-nb-gate-${e.status}`} data-testid="gate-event">
            {MARK[e.status] ?? '·'} {e.step}: {e.message}
          </li>
        ))}
      </ul>
      {job.running ? <p>Running the gates…</p> : null}
      {result ? (
        <p data-testid="promotion-verdict" className={result.moved ? 'mlops-nb-stable' : 'mlops-nb-drifted'}>
          {result.moved ? 'Promoted' : 'Not promoted'}: {result.name} version {result.version}{' '}
          {result.moved ? `is now @${result.alias}` : `(@${result.alias} unchanged)`}
        </p>
      ) : null}
      {job.error ? <div className="mlops-nb-error" data-testid="promotion-error">{job.error}</div> : null}
    </div>
  );
}

function gates(v: IVersionSummary): string {
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
      <PromoteForm model={model} />
      <Promotion model={model} />
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
                  <td title={v.last_decision?.gates.map(g => `${g[0]}: ${g[1]}`).join('\n') ?? ''}>
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
