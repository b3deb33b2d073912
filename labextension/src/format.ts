import { Time } from '@jupyterlab/coreutils';

import { IRun, MetricValue } from './models';

/** The number a metric value stands for (NaN and infinities included). */
export function metricNumber(value: MetricValue | null | undefined): number {
  if (typeof value === 'number') {
    return value;
  }
  switch (value) {
    case 'Infinity':
      return Infinity;
    case '-Infinity':
      return -Infinity;
    default:
      return NaN;
  }
}

/** True for a finite number; false for "NaN", "Infinity", "-Infinity". */
export function isFiniteMetric(value: MetricValue | null | undefined): boolean {
  return typeof value === 'number' && Number.isFinite(value);
}

/** A compact, readable number: 0.9132, 1.2e-5, 12,345, 3. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) {
    return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
  }
  if (Number.isInteger(value) && Math.abs(value) < 1e12) {
    return value.toLocaleString('en-US');
  }
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) {
    return value.toExponential(3).replace(/\.?0+e/, 'e');
  }
  return String(Number(value.toPrecision(4)));
}

/** A metric value as shown in tables; non-finite values as their names. */
export function formatMetric(value: MetricValue | null | undefined): string {
  if (value === null || value === undefined) {
    return '—';
  }
  return typeof value === 'number' ? formatNumber(value) : value;
}

/** Seconds as `850 ms`, `12.3 s`, `4m 05s`, `2h 07m`, `3d 4h`. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) {
    return '—';
  }
  if (seconds < 0) {
    seconds = 0;
  }
  if (seconds < 1) {
    return `${Math.round(seconds * 1000)} ms`;
  }
  if (seconds < 60) {
    return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  }
  const total = Math.round(seconds);
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (d > 0) {
    return `${d}d ${h}h`;
  }
  if (h > 0) {
    return `${h}h ${pad(m)}m`;
  }
  return `${m}m ${pad(s)}s`;
}

/**
 * The run's duration in seconds: the server's figure for a finished run,
 * the time elapsed so far for a running one.
 */
export function runDuration(
  run: Pick<IRun, 'start_time' | 'end_time'> & { duration_s?: number | null },
  now: number = Date.now()
): number | null {
  if (run.duration_s !== null && run.duration_s !== undefined) {
    return run.duration_s;
  }
  const start = Date.parse(run.start_time);
  if (isNaN(start)) {
    return null;
  }
  const end = run.end_time ? Date.parse(run.end_time) : now;
  return isNaN(end) ? null : (end - start) / 1000;
}

/** `2026-11-27 10:18:47` in the browser's time zone. */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) {
    return '—';
  }
  const date = new Date(iso);
  if (isNaN(date.getTime())) {
    return iso;
  }
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

/** `5 minutes ago`, with the full date available for a tooltip. */
export function formatRelative(iso: string | null | undefined): string {
  if (!iso) {
    return '—';
  }
  const date = new Date(iso);
  return isNaN(date.getTime()) ? iso : Time.formatHuman(date);
}

/** A compact age for tables: `just now`, `12s ago`, `5m ago`, `3h ago`, `2d ago`, then the date. */
export function formatAgo(
  iso: string | null | undefined,
  now: number = Date.now()
): string {
  if (!iso) {
    return '—';
  }
  const time = Date.parse(iso);
  if (isNaN(time)) {
    return iso;
  }
  const seconds = Math.max(0, Math.round((now - time) / 1000));
  if (seconds < 5) {
    return 'just now';
  }
  if (seconds < 60) {
    return `${seconds}s ago`;
  }
  if (seconds < 3600) {
    return `${Math.floor(seconds / 60)}m ago`;
  }
  if (seconds < 86400) {
    return `${Math.floor(seconds / 3600)}h ago`;
  }
  if (seconds < 7 * 86400) {
    return `${Math.floor(seconds / 86400)}d ago`;
  }
  return formatDate(iso).slice(0, 10);
}

/** Bytes as `512 B`, `1.4 KB`, `23 MB`. */
export function formatBytes(size: number | null | undefined): string {
  if (size === null || size === undefined || !isFinite(size)) {
    return '—';
  }
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = size;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 10 ? 0 : 1;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/** The first non-empty line of a cell's source. */
export function firstLine(source: string): string {
  const line = source.split('\n').find(l => l.trim().length > 0);
  return line === undefined ? '' : line;
}

/** A short id, for display only: the first 8 characters. */
export function shortId(id: string | null | undefined): string {
  return id ? id.slice(0, 8) : '—';
}

/** The name a run is shown by: its name, else its short id. */
export function runLabel(run: { id: string; name?: string | null }): string {
  return run.name || shortId(run.id);
}

/**
 * Up to `max` metric keys to show as table columns: the keys most runs
 * have, ties broken alphabetically.
 */
export function pickMetricKeys(runs: IRun[], max = 3): string[] {
  const counts = new Map<string, number>();
  for (const run of runs) {
    for (const key of Object.keys(run.metrics ?? {})) {
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, max)
    .map(([key]) => key);
}

/**
 * A free-form JSON object (e.g. a run's packages, typed `{ [key]: unknown }` by the
 * API) as strings to show in a table: strings as they are, other values as JSON.
 */
export function stringRecord(
  record: Record<string, unknown> | null | undefined
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(record ?? {})) {
    out[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return out;
}
