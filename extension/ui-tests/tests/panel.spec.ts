/**
 * The panel end to end, as a user meets it: open the example notebook, run its %%track cells,
 * see the runs appear, run again with another parameter, compare, productionize.
 * Screenshots of each state go to $MLOPS_NB_ARTIFACTS.
 */
import { expect, galata, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import * as path from 'path';

const ARTIFACTS = process.env.MLOPS_NB_ARTIFACTS ?? 'test-artifacts/ui';
const NOTEBOOK = 'nb/01_quickstart.ipynb';
const PARAMS_CELL = 2;
const FOREST_CELL = 10;

test.use({ autoGoto: true });

async function shot(page: IJupyterLabPageFixture, name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

function panel(page: IJupyterLabPageFixture) {
  return page.locator('#mlops-nb-panel');
}

test('track, see runs, compare two, productionize', async ({ page }) => {
  await test.step('the panel has its own sidebar icon and says what to do with no runs', async () => {
    await page.notebook.openByPath(NOTEBOOK);
    await page.sidebar.openTab('mlops-nb-panel');
    await expect(panel(page).getByTestId('panel-notebook')).toHaveText(NOTEBOOK);
    await expect(panel(page).getByTestId('runs-empty')).toContainText('add %%track to a cell');
    await expect(panel(page).getByTestId('version-warning')).toHaveCount(0);
    await shot(page, '01-empty');
  });

  await test.step('running the notebook adds its tracked cells to the panel by itself', async () => {
    await page.notebook.activate(NOTEBOOK);
    await page.notebook.run();
    await expect(panel(page).locator('.mlops-nb-run')).toHaveCount(2, { timeout: 90_000 });
    await expect(panel(page).locator('.mlops-nb-run').first()).toContainText('FINISHED');
    await expect(panel(page).locator('.mlops-nb-run a').first()).toHaveAttribute('href', /#\/experiments\/\d+\/runs\/\w+/);
    await shot(page, '02-runs');
  });

  await test.step('a second run of the forest cell with another max_depth appears on top', async () => {
    const source = (await page.notebook.getCellTextInput(PARAMS_CELL)) ?? '';
    expect(source).toContain('max_depth = 6');
    await page.notebook.setCell(PARAMS_CELL, 'code', source.replace('max_depth = 6', 'max_depth = 3'));
    await page.notebook.runCell(PARAMS_CELL);
    await page.notebook.runCell(FOREST_CELL);
    await expect(panel(page).locator('.mlops-nb-run')).toHaveCount(3, { timeout: 90_000 });
    await shot(page, '03-second-run');
  });

  await test.step('comparing the two forest runs charts a metric and shows max_depth differs', async () => {
    const rows = panel(page).locator('.mlops-nb-run');
    await rows.nth(0).locator('input[type=checkbox]').check();
    await rows.nth(1).locator('input[type=checkbox]').check();
    const compare = panel(page).getByTestId('compare');
    await expect(compare.locator('.mlops-nb-bar')).toHaveCount(2);
    const maxDepth = compare.getByTestId('compare-params').locator('tr', { hasText: 'max_depth' });
    await expect(maxDepth).toContainText('6');
    await expect(maxDepth).toContainText('3');
    await compare.getByTestId('compare-metric').selectOption('accuracy');
    await expect(compare.locator('svg')).toHaveAttribute('aria-label', 'accuracy by run');
    await compare.scrollIntoViewIfNeeded();
    await shot(page, '04-compare');
  });

  await test.step('Productionize makes the service and shows how to start it', async () => {
    await panel(page).getByRole('tab', { name: 'Productionize' }).click();
    await panel(page).getByTestId('productionize-button').click();
    const job = panel(page).getByTestId('productionize-job');
    await expect(job).toHaveAttribute('data-state', /running|queued|succeeded|failed/);
    await shot(page, '05-productionize-running');
    await expect(job).toHaveAttribute('data-state', /succeeded|failed/, { timeout: 300_000 });
    await shot(page, '06-productionize-done');
    await expect(job).toHaveAttribute('data-state', 'succeeded');
    const result = panel(page).getByTestId('productionize-result');
    await expect(result).toContainText('Service directory');
    await expect(result).toContainText('nb/01-quickstart-service');
    await expect(result).toContainText('Start it with');
  });

  await test.step('the service starts from the panel and its drift check answers', async () => {
    await panel(page).getByTestId('start-service').click();
    const url = panel(page).getByTestId('service-url');
    await expect(url).toContainText('http://127.0.0.1:', { timeout: 120_000 });
    await shot(page, '07-service-running');
    await url.getByRole('button', { name: 'Check its drift' }).click();
    // the panel shows the service's own answer; a fresh service first loads its reference, then
    // says it has recorded too little traffic: check again (on demand) until it does
    const answer = panel(page).getByTestId('drift-error').or(panel(page).getByTestId('drift-result'));
    await expect(answer).toContainText(/answered HTTP|Drift detected|No drift/);
    await expect(async () => {
      await panel(page).getByRole('button', { name: 'Check drift' }).click();
      await expect(answer).toContainText(/input rows recorded|Drift detected|No drift/, { timeout: 2_000 });
    }).toPass({ timeout: 60_000 });
    await expect(panel(page).locator('input[aria-label="service URL"]')).toHaveValue(/^http:\/\/127\.0\.0\.1:\d+$/);
    await shot(page, '08-drift');
  });
});
