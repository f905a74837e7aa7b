/** A line diff of two texts for a side-by-side view (longest common subsequence). Pure. */

export type DiffKind = 'same' | 'changed' | 'removed' | 'added';

export interface IDiffRow {
  kind: DiffKind;
  /** 1-based line numbers, null where that side has no line */
  left: { n: number; text: string } | null;
  right: { n: number; text: string } | null;
}

/** The largest texts diffed line by line (LCS is quadratic); beyond, lines are paired by index. */
export const MAX_DIFF_LINES = 2000;

function splitLines(text: string): string[] {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') {
    lines.pop();
  }
  return lines;
}

export function diffLines(a: string, b: string): IDiffRow[] {
  const left = splitLines(a);
  const right = splitLines(b);
  if (left.length > MAX_DIFF_LINES || right.length > MAX_DIFF_LINES) {
    return pairByIndex(left, right);
  }
  const n = left.length;
  const m = right.length;
  // lcs[i][j]: LCS length of left[i:] and right[j:]
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = left[i] === right[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const rows: IDiffRow[] = [];
  let removed: IDiffRow[] = [];
  let added: IDiffRow[] = [];
  const flush = () => {
    // a removed line facing an added one is a changed line
    const pairs = Math.min(removed.length, added.length);
    for (let k = 0; k < pairs; k++) {
      rows.push({ kind: 'changed', left: removed[k].left, right: added[k].right });
    }
    rows.push(...removed.slice(pairs), ...added.slice(pairs));
    removed = [];
    added = [];
  };
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && left[i] === right[j]) {
      flush();
      rows.push({ kind: 'same', left: { n: i + 1, text: left[i] }, right: { n: j + 1, text: right[j] } });
      i++;
      j++;
    } else if (j >= m || (i < n && lcs[i + 1][j] >= lcs[i][j + 1])) {
      removed.push({ kind: 'removed', left: { n: i + 1, text: left[i] }, right: null });
      i++;
    } else {
      added.push({ kind: 'added', left: null, right: { n: j + 1, text: right[j] } });
      j++;
    }
  }
  flush();
  return rows;
}

function pairByIndex(left: string[], right: string[]): IDiffRow[] {
  const rows: IDiffRow[] = [];
  for (let k = 0; k < Math.max(left.length, right.length); k++) {
    const l = k < left.length ? { n: k + 1, text: left[k] } : null;
    const r = k < right.length ? { n: k + 1, text: right[k] } : null;
    const kind: DiffKind = !l ? 'added' : !r ? 'removed' : l.text === r.text ? 'same' : 'changed';
    rows.push({ kind, left: l, right: r });
  }
  return rows;
}

export function changedCount(rows: IDiffRow[]): number {
  return rows.filter(r => r.kind !== 'same').length;
}
