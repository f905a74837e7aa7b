/** The sidebar widget: the tabs of views/tabs.tsx over the panel model. */
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { PanelModel } from '../model/panel';
import { ITabSpec, TABS } from './tabs';

export class MlopsPanel extends ReactWidget {
  constructor(readonly model: PanelModel, readonly tabs: ITabSpec[] = TABS) {
    super();
    this.id = 'mlops-nb-panel';
    this.addClass('mlops-nb-panel');
    model.changed.connect(() => this.update(), this);
  }

  render(): JSX.Element {
    const model = this.model;
    const active = this.tabs.find(t => t.id === model.tab) ?? this.tabs[0];
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
          {this.tabs.map(tab => (
            <button key={tab.id} role="tab" aria-selected={active.id === tab.id}
              className={active.id === tab.id ? 'mlops-nb-tab mlops-nb-tab-active' : 'mlops-nb-tab'}
              onClick={() => model.setTab(tab.id)}>{tab.label}</button>
          ))}
        </nav>
        <section className="mlops-nb-body">{active.render(model)}</section>
      </div>
    );
  }
}
