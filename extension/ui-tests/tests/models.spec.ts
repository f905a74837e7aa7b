/**
 * The Models tab in a real browser: registered models of the notebook's store, Promote a run
 * (each gate's result shown), the alias moving, a refused promotion, and the version's card.
 * The harness (tests/ui/test_models_ui.py) seeds the store and passes the run ids.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import * as path from 'path';

const ARTIFACTS = process.env.MLOPS_NB_ARTIFACTS ?? 'test-artifacts/ui';
const NOTEBOOK = 'nb/01_quickstart.ipynb';
const GOOD = process.env.MLOPS_NB_GOOD_RUN ?? '';
const WEAK = process.env.MLOPS_NB_WEAK_RUN ?? '';

test.use({ autoGoto: true });

async function shot(page: IJupyterLabPageFixture, name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

test('models, promote behind gates, the card', async ({ page }) => {
  const panel = page.locator('#mlops-nb-panel');
  const form = panel.getByTestId('promote-form');

  /** fill the form, promote, and wait for this promotion's verdict */
  async function promote(run: string, requirement: string, verdict: string): Promise<void> {
    await form.getByLabel('run id').fill(run);
    await form.getByLabel('model name').fill('cancer');
    await form.getByLabel('requirements').fill(requirement);
    await form.getByRole('button', { name: 'Promote' }).click();
    await expect(panel.getByTestId('promotion-verdict')).toHaveText(verdict, { timeout: 120_000 });
  }

  await test.step('the Models tab lists the registered model and its champion', async () => {
    await page.notebook.openByPath(NOTEBOOK);
    await page.sidebar.openTab('mlops-nb-panel');
    await panel.getByRole('tab', { name: 'Models' }).click();
    const table = panel.getByTestId('models-table');
    await expect(table).toContainText('cancer', { timeout: 90_000 });  // the server's first MLflow import
    await expect(table).toContainText('@champion→v1');
    await shot(page, 'models-01-list');
  });

  await test.step('promoting a better run shows each gate and moves the alias', async () => {
    await promote(GOOD, 'accuracy>=0.9', 'Promoted: cancer version 2 is now @champion');
    const gate = panel.locator('[data-testid=promotion-gates] tr[data-gate=threshold]');
    await expect(gate).toHaveAttribute('data-status', 'passed');
    await expect(gate.getByTestId('gate-mark')).toHaveText('✓');
    await expect(gate.getByTestId('gate-value')).toHaveText(/^0\.9\d*$/);
    await expect(gate.getByTestId('gate-threshold')).toHaveText('0.9');
    await expect(panel.getByTestId('version-2')).toContainText('@champion');
    await expect(panel.getByTestId('version-2')).toContainText('✓ passed');
    await shot(page, 'models-02-promoted');
  });

  await test.step('a run that fails a gate is refused and the alias stays', async () => {
    await promote(WEAK, 'accuracy>=0.99', 'Not promoted: cancer version 1 (@champion stays on version 2)');
    const gate = panel.locator('[data-testid=promotion-gates] tr[data-gate=threshold]');
    await expect(gate).toHaveAttribute('data-status', 'failed');
    await expect(gate.getByTestId('gate-mark')).toHaveText('✗');
    await expect(gate.getByTestId('gate-threshold')).toHaveText('0.99');
    await expect(panel.getByTestId('version-2')).toContainText('@champion');
    await expect(panel.getByTestId('alias-history')).toContainText('v1 refused (threshold failed)');
    await shot(page, 'models-03-refused');
  });

  await test.step('the card of the champion', async () => {
    await panel.getByTestId('version-2').getByRole('button', { name: 'Card' }).click();
    const card = panel.getByTestId('model-card');
    await expect(card.locator('h1')).toHaveText('Model card: cancer version 2');
    await expect(card).toContainText('To be written by the model\'s author');
    await expect(card).toContainText('X_train');
    await card.scrollIntoViewIfNeeded();
    await shot(page, 'models-04-card');
  });
});
