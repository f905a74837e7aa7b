/** Small display helpers shared by the views (pure). */
import { Run } from './api';

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

/** A short label for the cell a run came from. */
export function cellLabel(run: Run): string {
  return run.cell_id ?? run.cell_key?.slice(0, 8) ?? '–';
}

/** A run's start as a short local date-time ("12-03 08:41"). */
export function formatTime(ms: number | null): string {
  if (ms === null) {
    return '–';
  }
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A signed difference ("+0.012", "−3"). */
export function formatDelta(value: number | null): string {
  if (value === null) {
    return '';
  }
  if (value === 0) {
    return '±0';
  }
  return (value > 0 ? '+' : '−') + formatNumber(Math.abs(value));
}
