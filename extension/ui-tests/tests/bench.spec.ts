/**
 * Benchmark, not a pass/fail timing: how long the panel takes to show the first page of a
 * notebook with 1,000 runs. Figures go to $MLOPS_NB_ARTIFACTS/panel-bench.json.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import * as fs from 'fs';
import * as path from 'path';

const ARTIFACTS = process.env.MLOPS_NB_ARTIFACTS ?? 'test-artifacts/ui';
const REPEAT = Number(process.env.MLOPS_NB_BENCH_REPEAT ?? 5);

test.use({ autoGoto: true });

interface IOpenTiming {
  /** the first page's rows committed to the DOM (a MutationObserver sees the first run's name) */
  dom: number;
  /** then the next animation frame: the rows painted */
  painted: number;
  /** the /mlops-nb/runs answer fully received (resource timing): the server's and network's part */
  answer: number | null;
}

/** In the page: open (or switch to) `path` with the panel visible; time until its first run row
 * is rendered (a request for the first page of 50 runs, then the render). */
async function timeOpen(page: IJupyterLabPageFixture, nbPath: string, firstName: string): Promise<IOpenTiming> {
  return page.evaluate(
    async ({ nbPath, firstName }) => {
      const app = (window as any).jupyterapp;
      const root = document.querySelector('#mlops-nb-panel')!;
      const rendered = () =>
        root.querySelector('.mlops-nb-run .mlops-nb-run-name')?.textContent === firstName;
      const t0 = performance.now();
      const dom = await new Promise<number>((resolve, reject) => {
        const observer = new MutationObserver(() => {
          if (rendered()) {
            observer.disconnect();
            resolve(performance.now());
          }
        });
        observer.observe(root, { subtree: true, childList: true, characterData: true });
        setTimeout(() => {
          observer.disconnect();
          reject(new Error(`no run ${firstName} after 30 s; the panel shows: ${root.textContent?.slice(0, 300)}`));
        }, 30_000);
        void app.commands.execute('docmanager:open', { path: nbPath });
      });
      const painted = await new Promise<number>(resolve => requestAnimationFrame(() => resolve(performance.now())));
      const answers = (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).filter(
        e => e.name.includes('/mlops-nb/runs?') && e.startTime >= t0
      );
      return {
        dom: dom - t0,
        painted: painted - t0,
        answer: answers.length ? answers[0].responseEnd - t0 : null
      };
    },
    { nbPath, firstName }
  );
}

async function timeRefresh(page: IJupyterLabPageFixture): Promise<number> {
  return page.evaluate(async () => {
    const button = [...document.querySelectorAll('#mlops-nb-panel button')].find(
      b => b.textContent === 'Refresh'
    ) as HTMLButtonElement;
    const t0 = performance.now();
    button.click();
    await new Promise<void>(resolve => {
      const check = () => (button.disabled ? setTimeout(check, 2) : resolve());
      setTimeout(check, 2);
    });
    return performance.now() - t0;
  });
}

/** In the page: click the checkbox of the `index`th run and time until the comparison tab
 * (already open) shows `expected` runs (the comparison follows the selection: one request for
 * the runs' details, history and cell sources, then the render). */
async function timeCompare(page: IJupyterLabPageFixture, index: number, expected: number): Promise<number> {
  return page.evaluate(
    async ({ index, expected }) => {
      const box = document.querySelectorAll('#mlops-nb-panel .mlops-nb-run input[type=checkbox]')[index] as HTMLInputElement;
      const heading = () => document.querySelector('#mlops-nb-compare-tab h2')?.textContent ?? '';
      const t0 = performance.now();
      box.click();
      await new Promise<void>((resolve, reject) => {
        const check = () => {
          if (heading().startsWith(`Compare ${expected} runs`)) {
            resolve();
          } else if (performance.now() - t0 > 30_000) {
            reject(new Error(`the comparison shows "${heading()}" after 30 s`));
          } else {
            setTimeout(check, 2);
          }
        };
        check();
      });
      return performance.now() - t0;
    },
    { index, expected }
  );
}

/** The panel's own files the page has fetched so far (name, bytes). */
async function panelFiles(page: IJupyterLabPageFixture): Promise<{ name: string; bytes: number }[]> {
  return page.evaluate(() =>
    (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
      .filter(e => e.name.includes('/extensions/mlops-nb/static/'))
      .map(e => ({ name: e.name.split('/').pop()!.split('?')[0], bytes: e.decodedBodySize }))
  );
}

/** plotly's chunk is the one file over 1 MB */
const PLOTLY_BYTES = 1_000_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

test('panel first render with 1,000 runs', async ({ page }) => {
  test.setTimeout(240_000);
  // the panel open before any notebook: opening bench.ipynb makes the first /mlops-nb/runs
  // request this (fresh) server answers, as a user's first look after `jupyter lab` starts
  await page.sidebar.openTab('mlops-nb-panel');
  await expect(page.locator('#mlops-nb-panel [data-testid=panel-notebook]')).toHaveText('no notebook open');
  // JupyterLab loaded with the panel shown: plotly is not fetched until a chart is shown
  const atLoad = await panelFiles(page);
  expect(atLoad.length).toBeGreaterThan(0);
  expect(atLoad.filter(f => f.bytes > PLOTLY_BYTES)).toEqual([]);
  const cold = await timeOpen(page, 'nb/bench.ipynb', 'bench-0999');
  await expect(page.locator('#mlops-nb-panel [data-testid=chart-over-time]')).toHaveAttribute('data-state', 'ready');
  await expect.poll(async () => (await panelFiles(page)).filter(f => f.bytes > PLOTLY_BYTES).length).toBe(1);
  // through the command: the sidebar shows the panel, not the file browser openByPath clicks in
  await page.evaluate(async () => {
    await (window as any).jupyterapp.commands.execute('docmanager:open', { path: 'nb/01_quickstart.ipynb' });
  });
  await expect(page.locator('#mlops-nb-panel [data-testid=panel-notebook]')).toHaveText('nb/01_quickstart.ipynb');
  const open: IOpenTiming[] = [];
  const refresh: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    open.push(await timeOpen(page, 'nb/bench.ipynb', 'bench-0999'));
    await expect(page.locator('#mlops-nb-panel .mlops-nb-run')).toHaveCount(50);
    refresh.push(await timeRefresh(page));
    // switch away: the panel forgets the runs and shows the other notebook; switching back to
    // bench.ipynb (docmanager:open activates the open tab) renders its first page again
    await page.notebook.activate('01_quickstart.ipynb');
    await expect(page.locator('#mlops-nb-panel [data-testid=panel-notebook]')).toHaveText('nb/01_quickstart.ipynb');
  }
  await timeOpen(page, 'nb/bench.ipynb', 'bench-0999');
  await expect(page.locator('#mlops-nb-panel .mlops-nb-more')).toBeVisible();
  await page.screenshot({ path: path.join(ARTIFACTS, 'bench-1000-runs.png') });
  // compare: 9 runs selected and the comparison open, then the 10th selected (and unselected)
  const boxes = page.locator('#mlops-nb-panel .mlops-nb-run input[type=checkbox]');
  for (let i = 0; i < 9; i++) {
    await boxes.nth(i).check();
  }
  await page.locator('#mlops-nb-panel [data-testid=compare-button]').click();
  await expect(page.locator('#mlops-nb-compare-tab h2')).toContainText('Compare 9 runs');
  const compare: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    compare.push(await timeCompare(page, 9, 10));
    await timeCompare(page, 9, 9);
  }
  await page.screenshot({ path: path.join(ARTIFACTS, 'bench-compare-10-runs.png') });
  const figures = {
    runs_in_experiment: 1000,
    page_size: 50,
    first_render_after_server_start_ms: cold.painted,
    first_render_after_server_start: cold,
    open_notebook_to_first_page_ms: { median: median(open.map(o => o.painted)), all: open.map(o => o.painted) },
    open_notebook_parts_ms: {
      rows_in_dom_median: median(open.map(o => o.dom)),
      runs_answer_received_median: median(open.map(o => o.answer ?? NaN)),
      all: open
    },
    refresh_first_page_ms: { median: median(refresh), all: refresh },
    compare_10_runs_rendered_ms: { median: median(compare), all: compare },
    panel_files_at_load: atLoad,
    panel_kb_at_load: Math.round(atLoad.reduce((a, f) => a + f.bytes, 0) / 1024)
  };
  fs.writeFileSync(path.join(ARTIFACTS, 'panel-bench.json'), JSON.stringify(figures, null, 2));
  console.log('panel-bench', JSON.stringify(figures));
});
