/**
 * Benchmark, not a pass/fail timing: JupyterLab's load time (navigation start to `app.restored`)
 * on the server at $MLOPS_NB_BASE_URL; benchmarks/bench_panel.py runs it with and without the
 * mlops-nb extension. Figures go to $MLOPS_NB_ARTIFACTS/load-$MLOPS_NB_LOAD_LABEL.json.
 */
import { expect, test } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

const ARTIFACTS = process.env.MLOPS_NB_ARTIFACTS ?? 'test-artifacts/ui';
const LABEL = process.env.MLOPS_NB_LOAD_LABEL ?? 'load';
const REPEAT = Number(process.env.MLOPS_NB_BENCH_REPEAT ?? 7);

test('JupyterLab load time', async ({ page }) => {
  const loads: number[] = [];
  let panelPresent = false;
  for (let i = 0; i < REPEAT + 1; i++) {
    await page.goto('lab?reset');
    const { ms, panel } = await page.evaluate(async () => {
      while (!(window as any).jupyterapp) {
        await new Promise(r => setTimeout(r, 5));
      }
      await (window as any).jupyterapp.restored;
      const ms = performance.now();
      return { ms, panel: document.querySelector('.lm-TabBar-tab[data-id="mlops-nb-panel"]') !== null };
    });
    panelPresent = panel;
    if (i > 0) {
      loads.push(ms); // the first load warms the server's and the browser's caches
    }
  }
  await expect(page.locator('#jp-main-dock-panel')).toBeVisible();
  const sorted = [...loads].sort((a, b) => a - b);
  const figures = { label: LABEL, panel_present: panelPresent, median_ms: sorted[Math.floor(sorted.length / 2)], all_ms: loads };
  fs.writeFileSync(path.join(ARTIFACTS, `load-${LABEL}.json`), JSON.stringify(figures, null, 2));
  console.log('load', JSON.stringify(figures));
});
