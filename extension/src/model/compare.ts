/** The selected runs side by side: fetched from `runs/compare` (cell source, figures, history). */
import { CompareResponse, errorMessage, IRequester, RunDetail } from '../api';
import { compareRuns, IComparison } from '../compare';
import { diffLines, IDiffRow } from '../diff';
import { Observable } from './observable';

export const MAX_COMPARE = 10;

export class CompareModel extends Observable {
  constructor(private readonly api: IRequester) {
    super();
  }

  details: RunDetail[] = [];
  error: string | null = null;
  loading = false;
  /** the two runs whose cell source is diffed (indexes into `comparison.runs`) */
  diffPair: [number, number] = [0, 1];
  private key = '';

  get comparison(): IComparison | null {
    return this.details.length < 2 ? null : compareRuns(this.details.map(d => d.run));
  }

  /** details in the comparison's order (oldest first) */
  get ordered(): RunDetail[] {
    const c = this.comparison;
    if (!c) {
      return [];
    }
    const byId = new Map(this.details.map(d => [d.run.run_id, d]));
    return c.runs.map(r => byId.get(r.run_id)!);
  }

  /** The side-by-side diff of the tracked cells of the chosen pair, or null without sources. */
  get cellDiff(): { rows: IDiffRow[]; left: RunDetail; right: RunDetail } | null {
    const runs = this.ordered;
    const [a, b] = this.diffPair;
    const left = runs[a];
    const right = runs[b];
    if (!left || !right || left.cell_source === null || right.cell_source === null) {
      return null;
    }
    return { rows: diffLines(left.cell_source, right.cell_source), left, right };
  }

  setDiffPair(pair: [number, number]): void {
    this.diffPair = pair;
    this.emit();
  }

  /** Load the comparison of `runIds` (2 to MAX_COMPARE) of `notebook`; fewer clears it. */
  async load(notebook: string | null, runIds: string[]): Promise<void> {
    const ids = runIds.slice(0, MAX_COMPARE);
    const key = `${notebook}|${ids.join(',')}`;
    if (key === this.key) {
      return;
    }
    this.key = key;
    if (notebook === null || ids.length < 2) {
      this.details = [];
      this.error = null;
      this.emit();
      return;
    }
    this.loading = true;
    this.error = null;
    this.emit();
    try {
      const data = await this.api.request<CompareResponse>('runs/compare', {
        params: { notebook, run_ids: ids.join(',') }
      });
      if (key === this.key) {
        this.details = data.runs;
        const n = data.runs.length;
        this.diffPair = [Math.max(0, n - 2), n - 1];
      }
    } catch (error) {
      if (key === this.key) {
        this.details = [];
        this.error = errorMessage(error);
      }
    } finally {
      if (key === this.key) {
        this.loading = false;
        this.emit();
      }
    }
  }
}
