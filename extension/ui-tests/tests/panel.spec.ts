/**
 * The panel end to end, as a user meets it: open the example notebook, run its %%track cells,
 * see the runs (the parameters that differ, the metrics, a chart), change the forest's depth in
 * its cell and run it again, compare the two forest runs (parameter diff, metric deltas, the code
 * diff, the figures), productionize, start the service, watch its drift go from "collecting
 * traffic" to a verdict in the notebook's own drift widget. Also: promote a run from its row
 * (a passing and a failing gate), and the Pipeline tab of a three-step pipeline.yaml (its DAG,
 * each step's state, the failing cell, the cached steps of a rerun).
 * Each step asserts what the page shows; screenshots of each state go to $MLOPS_NB_ARTIFACTS.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import * as path from 'path';

const ARTIFACTS = process.env.MLOPS_NB_ARTIFACTS ?? 'test-artifacts/ui';
const NOTEBOOK = 'nb/01_quickstart.ipynb';
const PARAMS_CELL = 2;
const FOREST_CELL = 10;
/** a three-step pipeline the harness writes (tests/ui/test_panel_ui.py): check fails in cell #3 */
const PIPELINE_NOTEBOOK = 'pipe/step.ipynb';

test.use({ autoGoto: true, viewport: { width: 1600, height: 1000 } });

async function shot(page: IJupyterLabPageFixture, name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

function panel(page: IJupyterLabPageFixture) {
  return page.locator('#mlops-nb-panel');
}

/** the text of each header cell of the runs table */
async function headers(page: IJupyterLabPageFixture): Promise<string[]> {
  const cells = panel(page).locator('[data-testid=runs-table] thead th');
  return (await cells.allTextContents()).map(t => t.replace(/[▲▼]/g, '').trim());
}

test('track, see runs, promote, compare two, productionize, serve, drift, pipeline', async ({ page }) => {
  await test.step('the panel says what to do while the notebook has no runs', async () => {
    await page.notebook.openByPath(NOTEBOOK);
    await page.sidebar.openTab('mlops-nb-panel');
    await page.sidebar.setWidth(520, 'left');
    await expect(panel(page).getByTestId('panel-notebook')).toHaveText(NOTEBOOK);
    await expect(panel(page).getByTestId('runs-empty')).toContainText('add %%track to a cell');
    await expect(panel(page).getByTestId('version-warning')).toHaveCount(0);
    await expect(panel(page).getByRole('tab')).toHaveText(['Runs', 'Pipeline', 'Productionize', 'Drift', 'Models']);
    await shot(page, '01-empty');
  });

  await test.step('running the notebook lists its tracked cells with their metrics and a chart', async () => {
    await page.notebook.activate(NOTEBOOK);
    await page.notebook.run();
    const rows = panel(page).locator('.mlops-nb-run');
    await expect(rows).toHaveCount(2, { timeout: 180_000 });
    await expect(panel(page).getByTestId('runs-count')).toHaveText('2 runs');
    await expect(rows.locator('.mlops-nb-status')).toHaveText(['FINISHED', 'FINISHED'], { timeout: 60_000 });
    await expect(rows.nth(1)).toContainText('baseline');
    await expect(rows.first().locator('a')).toHaveAttribute('href', /#\/experiments\/\d+\/runs\/\w+/);
    // the first metrics are columns; each run's value is in its row
    await expect.poll(() => headers(page)).toEqual(expect.arrayContaining(['Status', 'Run', 'accuracy', 'f1', 'roc_auc']));
    await expect(rows.first().locator('[data-metric=accuracy]')).toHaveText(/^0\.9\d*$/);
    const chart = panel(page).getByTestId('chart-over-time');
    await expect(chart).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
    await expect(chart.locator('.scatterlayer .point')).toHaveCount(2);
    await shot(page, '02-runs');
  });

  await test.step('the forest again, max_depth=3 and a code change: both show as differences', async () => {
    const params = (await page.notebook.getCellTextInput(PARAMS_CELL)) ?? '';
    const forest = (await page.notebook.getCellTextInput(FOREST_CELL)) ?? '';
    expect(params).toContain('max_depth = 6');
    expect(forest).toContain('n_jobs=1\n');
    // edit through the notebook model (a cell may be scrolled out of view)
    await page.evaluate(
      ({ edits }) => {
        const nb = (window as any).jupyterapp.shell.currentWidget;
        for (const [index, text] of edits) {
          nb.content.widgets[index].model.sharedModel.setSource(text);
        }
      },
      {
        edits: [
          [PARAMS_CELL, params.replace('max_depth = 6', 'max_depth = 3')],
          [FOREST_CELL, forest.replace('n_jobs=1\n', 'n_jobs=1, min_samples_leaf=2\n')]
        ] as [number, string][]
      }
    );
    await page.notebook.runCell(PARAMS_CELL);
    await page.notebook.runCell(FOREST_CELL);
    const rows = panel(page).locator('.mlops-nb-run');
    await expect(rows).toHaveCount(3, { timeout: 180_000 });
    await expect(rows.locator('.mlops-nb-status')).toHaveText(['FINISHED', 'FINISHED', 'FINISHED'], { timeout: 30_000 });
    await expect.poll(() => headers(page)).toEqual(expect.arrayContaining(['max_depth', 'min_samples_leaf']));
    // the notebook's parameters are logged with every tracked cell (baseline too)
    await expect(rows.locator('[data-param=max_depth]')).toHaveText(['3', '6', '6']);
    await expect(rows.locator('[data-param=min_samples_leaf]')).toHaveText(['2', '1', '–']);
    await shot(page, '03-second-run');
  });

  await test.step('sorting by a metric and filtering by text happen across all runs', async () => {
    await panel(page).getByRole('button', { name: /^accuracy/ }).click();
    await expect(panel(page).locator('th[aria-sort=descending]')).toContainText('accuracy');
    // read again until the rows are those of the sorted answer (never one read after the click)
    const accuracies = async () =>
      (await panel(page).locator('.mlops-nb-run [data-metric=accuracy]').allTextContents()).map(Number);
    await expect
      .poll(async () => {
        const values = await accuracies();
        return values.length === 3 && values.every((v, i) => i === 0 || values[i - 1] >= v);
      })
      .toBe(true);
    await panel(page).getByLabel('search runs').fill('baseline');
    await panel(page).getByRole('button', { name: 'Filter' }).click();
    await expect(panel(page).locator('.mlops-nb-run')).toHaveCount(1);
    await expect(panel(page).getByTestId('runs-count')).toHaveText('1 run match');
    await panel(page).getByLabel('search runs').fill('');
    await panel(page).getByRole('button', { name: 'Filter' }).click();
    await expect(panel(page).locator('.mlops-nb-run')).toHaveCount(3);
    await panel(page).getByTestId('parallel-button').click();
    const parallel = panel(page).getByTestId('chart-parallel');
    await expect(parallel).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
    await expect(parallel.locator('.parcoords')).toHaveCount(1);
    await shot(page, '03b-sorted-parallel');
  });

  await test.step('promoting a tracked run from its row shows each gate, the version and the alias', async () => {
    const rows = panel(page).locator('.mlops-nb-run');
    await rows.filter({ hasText: 'baseline' }).getByRole('button', { name: 'promote baseline' }).click();
    const box = panel(page).getByTestId('promote-run');
    await expect(box.getByTestId('promote-run-name')).toHaveText('baseline');
    const form = box.getByTestId('promote-form');
    await expect(form.getByLabel('model name')).toHaveValue('01_quickstart'); // the notebook's name
    await expect(form.getByLabel('alias')).toHaveValue('champion');
    await form.getByLabel('requirements').fill('accuracy>=0.9');
    await form.getByRole('button', { name: 'Promote' }).click();
    const verdict = box.getByTestId('promotion-verdict');
    await expect(verdict).toHaveText('Promoted: 01_quickstart version 1 is now @champion', { timeout: 180_000 });
    const gate = box.locator('[data-testid=promotion-gates] tr[data-gate=threshold]');
    await expect(gate).toHaveAttribute('data-status', 'passed');
    await expect(gate.getByTestId('gate-mark')).toHaveText('✓');
    await expect(gate.getByTestId('gate-value')).toHaveText(/^0\.9\d*$/);
    await expect(gate.getByTestId('gate-threshold')).toHaveText('0.9');
    await expect(box.getByTestId('promotion-why')).toContainText('PROMOTED: @champion moved from no version to version 1');
    await shot(page, '03c-promoted');
  });

  await test.step('a run that fails its gate is registered but the alias does not move', async () => {
    const forest = panel(page)
      .locator('.mlops-nb-run')
      .filter({ has: page.locator('[data-param=min_samples_leaf]', { hasText: /^\d+$/ }) });
    const name = (await forest.first().locator('.mlops-nb-run-name').textContent()) ?? '';
    await forest.first().getByRole('button', { name: `promote ${name}` }).click();
    const box = panel(page).getByTestId('promote-run');
    await expect(box.getByTestId('promote-run-name')).toHaveText(name);
    await expect(box.getByTestId('promotion')).toHaveCount(0); // the last promotion is forgotten
    const form = box.getByTestId('promote-form');
    await form.getByLabel('requirements').fill('accuracy>=0.999');
    await form.getByRole('button', { name: 'Promote' }).click();
    await expect(box.getByTestId('promotion-verdict')).toHaveText(
      'Not promoted: 01_quickstart version 2 (@champion stays on version 1)', { timeout: 180_000 });
    const gate = box.locator('[data-testid=promotion-gates] tr[data-gate=threshold]');
    await expect(gate).toHaveAttribute('data-status', 'failed');
    await expect(gate.getByTestId('gate-mark')).toHaveText('✗');
    await expect(gate.getByTestId('gate-threshold')).toHaveText('0.999');
    await expect(box.getByTestId('promotion-why')).toContainText('NOT PROMOTED: threshold failed; @champion stays on version 1');
    await shot(page, '03d-promotion-refused');
    // the Models tab agrees: version 1 holds @champion, version 2 failed its gates
    await panel(page).getByRole('tab', { name: 'Models' }).click();
    await panel(page).getByTestId('models-table').getByText('01_quickstart').click();
    await expect(panel(page).getByTestId('version-1')).toContainText('@champion');
    await expect(panel(page).getByTestId('version-2')).toContainText('✗ failed');
    await panel(page).getByRole('tab', { name: 'Runs' }).click();
    await box.getByRole('button', { name: 'Close' }).click();
    await expect(box).toHaveCount(0);
  });

  await test.step('comparing the two forest runs shows the parameter, metric and code differences', async () => {
    const forest = panel(page)
      .locator('.mlops-nb-run')
      .filter({ has: page.locator('[data-param=min_samples_leaf]', { hasText: /^\d+$/ }) });
    await expect(forest).toHaveCount(2);
    await forest.nth(0).locator('input[type=checkbox]').check();
    await forest.nth(1).locator('input[type=checkbox]').check();
    await panel(page).getByTestId('compare-button').click();
    const compare = page.locator('#mlops-nb-compare-tab');
    await expect(compare.locator('h2')).toContainText(`Compare 2 runs of ${NOTEBOOK}`);
    // oldest first: max_depth 6, then 3
    await expect(compare.locator('[data-testid=compare-params] tr[data-param=max_depth] td')).toHaveText(['max_depth', '6', '3']);
    await expect(compare.locator('[data-testid=compare-params] tr[data-param=min_samples_leaf] td')).toHaveText(['min_samples_leaf', '1', '2']);
    await expect(compare.locator('[data-testid=compare-metrics] tr[data-metric=accuracy] [data-testid=delta]')).toHaveText(/^ ([+−]\d|±0)/);
    await expect(compare.getByTestId('diff-summary')).toHaveText(/^1 line\(s\) differ/);
    const changed = compare.locator('[data-testid=code-diff] tr.mlops-nb-diff-changed');
    await expect(changed).toHaveCount(1);
    await expect(changed.locator('[data-side=left]')).toHaveText(/n_jobs=1$/);
    await expect(changed.locator('[data-side=right]')).toContainText('n_jobs=1, min_samples_leaf=2');
    const figures = compare.getByTestId('compare-figure');
    await expect(figures).toHaveCount(2, { timeout: 30_000 });
    await expect
      .poll(() => figures.evaluateAll((els: HTMLImageElement[]) => Math.min(...els.map(el => el.naturalWidth))))
      .toBeGreaterThan(100);
    await shot(page, '04-compare');
  });

  await test.step('Productionize lists its steps and leads with the verdict and the API columns', async () => {
    await panel(page).getByRole('tab', { name: 'Productionize' }).click();
    await panel(page).getByTestId('productionize-button').click();
    const job = panel(page).getByTestId('productionize-job');
    await expect(job.locator('[data-step=extract]')).toBeVisible({ timeout: 60_000 });
    await shot(page, '05-productionize-running');
    await expect(job).toHaveAttribute('data-state', /succeeded|failed/, { timeout: 300_000 });
    await shot(page, '06-productionize-done');
    await expect(job).toHaveAttribute('data-state', 'succeeded');
    const steps = job.locator('.mlops-nb-step');
    for (const step of ['extract', 'features', 'notebook', 'fidelity', 'render']) {
      await expect(job.locator(`.mlops-nb-step[data-step=${step}]`)).toHaveAttribute('data-state', 'done');
      await expect(job.locator(`.mlops-nb-step[data-step=${step}] .mlops-nb-step-mark`)).toHaveText('✓');
    }
    await expect(steps.first().locator('.mlops-nb-step-time')).toHaveText(/\d+ ms|\d+\.\d s/);
    const result = panel(page).getByTestId('productionize-result');
    await expect(result.getByTestId('fidelity')).toContainText('✓ Fidelity');
    await expect(result.getByTestId('input-columns')).toContainText('mean radius');
    await expect(result.getByTestId('service-dir')).toHaveText('nb/01-quickstart-service');
    await expect(result).toContainText('Start it with');
  });

  await test.step('the service starts from the panel; its drift is "collecting traffic" at first', async () => {
    await panel(page).getByTestId('start-service').click();
    const url = panel(page).getByTestId('service-url');
    await expect(url).toContainText('http://127.0.0.1:', { timeout: 120_000 });
    await shot(page, '07-service-running');
    await url.getByRole('button', { name: 'Check its drift' }).click();
    const waiting = panel(page).getByTestId('drift-waiting');
    // a fresh service first loads its reference ("starting"; the panel asks again by itself)
    await expect(waiting).toHaveAttribute('data-state', 'collecting', { timeout: 120_000 });
    await expect(waiting.locator('strong')).toHaveText('Collecting traffic (0 of 30 rows)');
    await expect(panel(page).getByTestId('drift-error')).toHaveCount(0);
    await shot(page, '08-drift-collecting');
  });

  await test.step('with traffic, the notebook drift widget shows the verdict, the table and plots', async () => {
    const service = (await panel(page).locator('input[aria-label="service URL"]').inputValue()).replace(/\/$/, '');
    expect(service).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const reference = await (await page.request.get(`${service}/monitoring/reference?n=60`)).json();
    const shifted = reference.records.map((r: Record<string, number>) => ({ ...r, 'mean radius': r['mean radius'] * 3 }));
    const answer = await page.request.post(`${service}/predict`, { data: shifted });
    expect(answer.status()).toBe(200);
    await panel(page).getByRole('button', { name: 'Check drift' }).click();
    const result = panel(page).getByTestId('drift-result');
    await expect(result).toBeVisible({ timeout: 60_000 });
    await expect(result.locator('.mnd-badge')).toHaveText(/Dataset drift|No dataset drift/);
    await expect(result.locator('.mnd-share')).toContainText('of 30 columns drifted');
    await expect(result.locator('tr.mnd-row')).toHaveCount(30);
    await expect(result.locator('tr.mnd-row[data-column="mean radius"] td').last()).toHaveText('yes');
    await expect(result.locator('svg.mnd-plot[data-column="mean radius"]')).toBeVisible();
    await shot(page, '09-drift-verdict');
    await result.getByRole('button', { name: 'Show the full Evidently report' }).click();
    const report = result.locator('iframe.mnd-report');
    await expect(report).toBeVisible({ timeout: 120_000 });
    await expect(report).toHaveAttribute('srcdoc', /mean radius/);
    await shot(page, '10-drift-report');
  });

  await test.step('the pipeline next to a notebook: its DAG, each step\'s state, the failing cell', async () => {
    // opened through the command (the sidebar shows the panel, not the file browser)
    await page.evaluate(async path => {
      await (window as any).jupyterapp.commands.execute('docmanager:open', { path });
    }, PIPELINE_NOTEBOOK);
    await expect(panel(page).getByTestId('panel-notebook')).toHaveText(PIPELINE_NOTEBOOK, { timeout: 30_000 });
    await panel(page).getByRole('tab', { name: 'Pipeline' }).click();
    const dag = panel(page).getByTestId('pipeline-dag');
    const node = (step: string) => dag.locator(`.mlops-nb-dag-node[data-step=${step}]`);
    await expect(dag.locator('.mlops-nb-dag-node')).toHaveCount(3, { timeout: 60_000 });
    await expect(dag.locator('.mlops-nb-dag-edge')).toHaveCount(2); // prepare -> train -> check
    for (const step of ['prepare', 'train', 'check']) {
      await expect(node(step)).toHaveAttribute('data-state', 'never-run');
    }
    await panel(page).getByRole('button', { name: 'Run pipeline' }).click();
    const job = panel(page).getByTestId('pipeline-job');
    await expect(job).toHaveAttribute('data-state', /succeeded|failed/, { timeout: 300_000 });
    await expect(job).toHaveText('failed at check');
    await expect(node('prepare')).toHaveAttribute('data-state', 'finished');
    await expect(node('train')).toHaveAttribute('data-state', 'finished');
    await expect(node('check')).toHaveAttribute('data-state', 'failed');
    await expect(node('prepare').locator('.mlops-nb-dag-state')).toHaveText('finished');
    const failure = panel(page).locator('[data-testid=step-failure][data-step=check]');
    await expect(failure.locator('strong')).toHaveText('check failed in cell #3');
    await expect(failure.locator('.mlops-nb-cell-source')).toHaveText('raise ValueError(f"boom {x}")');
    await expect(failure.locator('pre.mlops-nb-error')).toContainText('boom 1');
    // paths in the library's message are relative to the root, as in the file browser
    await expect(failure.locator('pre.mlops-nb-error')).toContainText('executed notebook kept at pipe/out/check.ipynb');
    await shot(page, '11-pipeline-failed-step');
  });

  await test.step('a rerun takes the unchanged steps from the cache and runs the failed one again', async () => {
    const dag = panel(page).getByTestId('pipeline-dag');
    const node = (step: string) => dag.locator(`.mlops-nb-dag-node[data-step=${step}]`);
    const steps = panel(page).getByTestId('pipeline-steps');
    await expect(steps.locator('tr[data-step=prepare] td').nth(2)).toHaveText('cached'); // the cache column
    await panel(page).getByRole('button', { name: 'Run pipeline' }).click();
    // the live states of this run's events (before them: "queued", never the last run's states)
    await expect(node('prepare')).toHaveAttribute('data-state', 'cached', { timeout: 120_000 });
    await expect(node('train')).toHaveAttribute('data-state', 'cached');
    await expect(node('check')).toHaveAttribute('data-state', 'failed', { timeout: 300_000 });
    await expect(panel(page).getByTestId('pipeline-job')).toHaveText('failed at check');
    await expect(steps.locator('tr[data-step=train] td').nth(4)).toHaveText('unchanged, outputs present');
    await expect(panel(page).locator('[data-testid=step-failure][data-step=check] strong')).toHaveText(
      'check failed in cell #3'
    );
    await shot(page, '12-pipeline-rerun-cached');
  });
});
