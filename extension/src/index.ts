/** mlops-nb's JupyterLab plugins: only wiring (the state is in model/, the views in views/). */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, ToolbarButton } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';

import { mlopsIcon } from './icon';
import { PanelModel } from './model/panel';
import { ServerRequester } from './server';
import { CompareWidget } from './views/compare';
import { MlopsPanel } from './views/panel';

declare const require: (path: string) => any;
/** this panel's version: package.json, which a Python test keeps equal to mlops_nb/_version.py */
const VERSION: string = require('../package.json').version;

const COMMANDS = {
  open: 'mlops-nb:open',
  productionize: 'mlops-nb:productionize'
};

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'mlops-nb:panel',
  description: 'The MLOps sidebar: runs, compare, pipeline, productionize, drift.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILayoutRestorer, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null
  ) => {
    const api = new ServerRequester();
    const model = new PanelModel(api, VERSION);
    const panel = new MlopsPanel(model);
    panel.title.icon = mlopsIcon;
    panel.title.caption = 'MLOps';
    app.shell.add(panel, 'left', { rank: 600 });
    restorer?.add(panel, 'mlops-nb');

    const follow = (nb: NotebookPanel | null) => void model.setNotebook(nb ? nb.context.path : null);
    tracker.currentChanged.connect((_, nb) => follow(nb));
    void app.restored.then(() => follow(tracker.currentWidget));
    NotebookActions.executed.connect((_, { notebook, cell }) => {
      if (tracker.currentWidget?.content === notebook) {
        model.runs.cellExecuted(cell.model.sharedModel.getSource());
      }
    });
    void model.checkVersion();

    // the comparison of the selected runs opens as a main-area tab (one, reused)
    let compare: MainAreaWidget<CompareWidget> | null = null;
    model.compareRequested.connect(() => {
      if (compare === null || compare.isDisposed) {
        compare = new MainAreaWidget({ content: new CompareWidget(model, api) });
        compare.id = 'mlops-nb-compare-tab';
        compare.title.label = 'Compare runs';
        compare.title.icon = mlopsIcon;
        compare.title.closable = true;
        app.shell.add(compare, 'main', { mode: 'split-right' });
      }
      app.shell.activateById(compare.id);
    });

    app.commands.addCommand(COMMANDS.open, {
      label: 'Show the MLOps panel',
      execute: () => app.shell.activateById(panel.id)
    });
    app.commands.addCommand(COMMANDS.productionize, {
      label: 'Productionize notebook (mlops-nb)',
      caption: 'Turn the open notebook into a FastAPI service',
      icon: mlopsIcon,
      isEnabled: () => tracker.currentWidget !== null,
      execute: async () => {
        const nb = tracker.currentWidget;
        if (nb) {
          await model.setNotebook(nb.context.path);
          app.shell.activateById(panel.id);
          await model.runProductionize(false);
        }
      }
    });
    palette?.addItem({ command: COMMANDS.open, category: 'MLOps' });
    palette?.addItem({ command: COMMANDS.productionize, category: 'MLOps' });

    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (nb: NotebookPanel) => {
        const button = new ToolbarButton({
          icon: mlopsIcon,
          tooltip: 'Productionize this notebook (mlops-nb)',
          onClick: () => void app.commands.execute(COMMANDS.productionize)
        });
        nb.toolbar.insertItem(10, 'mlopsProductionize', button);
        return button;
      }
    });
  }
};

export default plugin;
