/** Promotion, shared by the Runs and the Models tabs: the form (model name, alias, thresholds,
 * reason, force) and the outcome (each gate with its measured value and threshold, the version
 * and where the alias is now, or why it did not move). */
import * as React from 'react';

import { formatNumber } from '../format';
import { DEFAULT_ALIAS, headline, IPromoteForm, PromotionModel } from '../model/promotion';

const MARK: Record<string, string> = { passed: '✓', failed: '✗', skipped: '–', done: '✓' };

function value(v: number | null): string {
  return v === null ? '–' : formatNumber(v);
}

export function PromoteForm(props: {
  /** the run's id is typed in (Models tab) rather than given (a run row) */
  askSource?: boolean;
  initialName: string;
  running: boolean;
  onSubmit: (source: string, form: IPromoteForm) => void;
  onCancel?: () => void;
}): JSX.Element {
  const [source, setSource] = React.useState('');
  const [form, setForm] = React.useState<IPromoteForm>({
    name: props.initialName,
    alias: DEFAULT_ALIAS,
    require: '',
    reason: '',
    force: false
  });
  const set = (part: Partial<IPromoteForm>) => setForm({ ...form, ...part });
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    props.onSubmit(source, form);
  };
  return (
    <form className="mlops-nb-promote" onSubmit={submit} data-testid="promote-form">
      {props.askSource ? (
        <input className="jp-mod-styled" placeholder="run id" aria-label="run id" value={source}
          onChange={e => setSource(e.target.value)} />
      ) : null}
      <input className="jp-mod-styled" placeholder="model name" aria-label="model name" value={form.name}
        onChange={e => set({ name: e.target.value })} />
      <input className="jp-mod-styled" placeholder="alias" aria-label="alias" value={form.alias}
        onChange={e => set({ alias: e.target.value })} />
      <input className="jp-mod-styled" placeholder="gates: accuracy>=0.9, rmse<3" aria-label="requirements"
        title="--require: thresholds on the run's logged metrics, separated by commas" value={form.require}
        onChange={e => set({ require: e.target.value })} />
      <input className="jp-mod-styled" placeholder="reason (recorded)" aria-label="reason" value={form.reason}
        onChange={e => set({ reason: e.target.value })} />
      <label title="move the alias even when a gate fails (needs a reason; recorded)">
        <input type="checkbox" aria-label="force" checked={form.force} onChange={e => set({ force: e.target.checked })} />
        force
      </label>
      <button className="jp-Button jp-mod-accept" type="submit"
        disabled={props.running || !form.name.trim() || (props.askSource === true && !source.trim())}>
        Promote
      </button>
      {props.onCancel ? (
        <button className="jp-Button" type="button" onClick={props.onCancel} disabled={props.running}>
          Close
        </button>
      ) : null}
    </form>
  );
}

/** What the promotion did: live steps while it runs, then each gate and the verdict. */
export function PromotionOutcome(props: { promotion: PromotionModel }): JSX.Element | null {
  const { promotion } = props;
  const result = promotion.result;
  if (promotion.invalid) {
    return <div className="mlops-nb-error" data-testid="promotion-error">{promotion.invalid}</div>;
  }
  if (!promotion.job.job && !promotion.error) {
    return null;
  }
  return (
    <div className="mlops-nb-promotion" data-testid="promotion"
      data-state={promotion.job.job?.state ?? 'failed'}>
      {promotion.running ? (
        <>
          <p>Running the gates for {promotion.request?.name}…</p>
          <ul>
            {promotion.events.map((e, i) => (
              <li key={i} className={`mlops-nb-gate-${e.status}`} data-testid="promotion-step">
                {MARK[e.status] ?? '·'} {e.step}: {e.message}
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {result ? (
        <>
          <p data-testid="promotion-verdict" data-moved={String(result.moved)}
            className={result.moved ? 'mlops-nb-stable' : 'mlops-nb-drifted'}>
            {headline(result)}
          </p>
          {result.gates.length > 0 ? (
            <table className="mlops-nb-table" data-testid="promotion-gates">
              <thead>
                <tr><th /><th>Gate</th><th>Measured</th><th>Threshold</th><th>Result</th></tr>
              </thead>
              <tbody>
                {result.gates.map((g, i) => (
                  <tr key={i} data-gate={g.gate} data-status={g.status} className={`mlops-nb-gate-${g.status}`}>
                    <td data-testid="gate-mark">{MARK[g.status]}</td>
                    <td>{g.metric ? `${g.gate} (${g.metric})` : g.gate}</td>
                    <td data-testid="gate-value" className="mlops-nb-num">{value(g.value)}</td>
                    <td data-testid="gate-threshold" className="mlops-nb-num">{value(g.threshold)}</td>
                    <td>{g.summary}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p className="mlops-nb-hint">No gates were asked for: the alias moves unconditionally.</p>
          )}
          <p className="mlops-nb-hint" data-testid="promotion-why">
            {result.verdict}
            {result.registered ? ' (version registered now)' : ' (version registered before; reused)'}
          </p>
        </>
      ) : null}
      {promotion.error ? <div className="mlops-nb-error" data-testid="promotion-error">{promotion.error}</div> : null}
    </div>
  );
}
