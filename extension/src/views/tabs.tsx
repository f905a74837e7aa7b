/** The panel's tabs: plain data. Adding a tab is one import and one entry in TABS. */
import * as React from 'react';

import { PanelModel } from '../model/panel';
import { DriftView } from './drift';
import { ModelsView } from './models';
import { PipelineView } from './pipeline';
import { ProductionizeView } from './productionize';
import { RunsView } from './runs';

export interface ITabSpec {
  /** stable id (model.tab, tests) */
  id: string;
  label: string;
  render: (model: PanelModel) => JSX.Element;
}

export const TABS: ITabSpec[] = [
  { id: 'runs', label: 'Runs', render: m => <RunsView model={m} /> },
  { id: 'pipeline', label: 'Pipeline', render: m => <PipelineView model={m.pipeline} notebook={m.notebook} /> },
  { id: 'productionize', label: 'Productionize', render: m => <ProductionizeView model={m} /> },
  { id: 'drift', label: 'Drift', render: m => <DriftView model={m.drift} /> },
  { id: 'models', label: 'Models', render: m => <ModelsView model={m.models} notebook={m.notebook} /> }
];
