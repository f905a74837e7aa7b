/** The sidebar widget: tabs over the panel model; re-renders when the model changes. */
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { PanelModel, Tab } from '../model/panel';
import { DriftView } from './drift';
import { ModelsView } from './models';
import { PipelineView } from './pipeline';
import { ProductionizeView } from './productionize';
import { RunsView } from './runs';

const TABS: [Tab, string][] = [
  ['runs', 'Runs'],
  ['pipeline', 'Pipeline'],
  ['productionize', 'Productionize'],
  ['drift', 'Drift'],
  ['models', 'Models']
];

export class MlopsPanel extends ReactWidget {
  constructor(readonly model: PanelModel) {
    super();
    this.id = 'mlops-nb-panel';
    this.addClass('mlops-nb-panel');
    model.changed.connect(() => this.update(), this);
  }

  render(): JSX.Element {
    const model = this.model;
    return (
      <div className="mlops-nb-root">
        <header>
          <h2>MLOps</h2>
          <div className="mlops-nb-notebook" data-testid="panel-notebook">
            {model.notebook ?? 'no notebook open'}
          </div>
        </header>
        {model.versionWarning ? (
          <div className="mlops-nb-error" data-testid="version-warning">{model.versionWarning}</div>
        ) : null}
        <nav className="mlops-nb-tabs" role="tablist">
          {TABS.map(([tab, label]) => (
            <button key={tab} role="tab" aria-selected={model.tab === tab}
              className={model.tab === tab ? 'mlops-nb-tab mlops-nb-tab-active' : 'mlops-nb-tab'}
              onClick={() => model.setTab(tab)}>{label}</button>
          ))}
        </nav>
        <section className="mlops-nb-body">
          {model.tab === 'runs' ? <RunsView model={model.runs} /> : null}
          {model.tab === 'pipeline' ? <PipelineView model={model.pipeline} notebook={model.notebook} /> : null}
          {model.tab === 'productionize' ? <ProductionizeView model={model} /> : null}
          {model.tab === 'drift' ? <DriftView model={model.drift} /> : null}
          {model.tab === 'models' ? <ModelsView model={model.models} notebook={model.notebook} /> : null}
        </section>
      </div>
    );
  }
}
