/** Small display helpers shared by the views (pure). */
import { IRun } from './api';

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !isFinite(seconds)) {
    return '–';
  }
  if (seconds < 1) {
    return `${Math.round(seconds * 1000)} ms`;
  }
  if (seconds < 60) {
    return `${seconds.toFixed(1)} s`;
  }
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}

export function formatNumber(value: number): string {
  if (Number.isInteger(value)) {
    return String(value);
  }
  return Math.abs(value) >= 1000 || Math.abs(value) < 0.001
    ? value.toExponential(2)
    : value.toPrecision(4).replace(/0+$/, '').replace(/\.$/, '');
}

/** The first `n` params or metrics of a run, as `name=value` text. */
export function keyValues(values: Record<string, string | number>, n = 3): string {
  return Object.keys(values)
    .sort()
    .slice(0, n)
    .map(k => {
      const v = values[k];
      return `${k}=${typeof v === 'number' ? formatNumber(v) : v}`;
    })
    .join(', ');
}

/** A short label for the cell a run came from. */
export function cellLabel(run: IRun): string {
  return run.cell_id ?? run.cell_key?.slice(0, 8) ?? '–';
}
