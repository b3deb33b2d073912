/**
 * Typed models of the monitor routes (v1): `monitors`, `monitors/{id}`,
 * `monitors/{id}/checks`, `monitors/{id}/alerts`.
 *
 * They mirror `server/responses_monitors.py`; keep both in step.
 */
import { URLExt } from '@jupyterlab/coreutils';

export type MonitorHealth =
  'unknown' | 'ok' | 'drift' | 'degraded' | 'no_data' | 'error';

export type CheckStatus = 'ok' | 'drift' | 'degraded' | 'no_data' | 'error';

export interface IColumnScore {
  score: number | null;
  drifted: boolean | null;
}

/** A check as the timeline lists it (`full=false`). */
export interface ICheckBrief {
  id: string;
  monitor_id: string;
  trigger: 'manual' | 'schedule' | string;
  status: CheckStatus | string;
  dataset_drift: boolean | null;
  share_drifted: number | null;
  current_rows: number | null;
  summary: string;
  error: string | null;
  created_by: string;
  started_at: string | null;
  finished_at: string | null;
  columns?: Record<string, IColumnScore> | null;
  result?: Record<string, unknown> | null;
}

export interface IWebhookChannel {
  type: 'webhook';
  url: string;
  /** Write-only: sent to set or change the secret, never returned. */
  secret?: string;
  /** Returned instead of the secret; sent back to keep it. */
  secret_set?: boolean;
}

export interface IEmailChannel {
  type: 'email';
  to: string[];
}

export type IAlertChannel = IWebhookChannel | IEmailChannel;

export interface IMonitorThresholds {
  drift_share: number | null;
  performance_drop: number | null;
  method: string | null;
  threshold: number | null;
  columns: Record<
    string,
    { method?: string | null; threshold?: number | null }
  >;
}

export type IMonitorWindow = { last_n: number } | { last: string };

export interface IMonitorSchedule {
  id: string;
  cron: string;
  timezone: string;
  paused: boolean;
  next_run_at: string | null;
  last_run_at: string | null;
  last_status: string | null;
}

export interface IMonitor {
  id: string;
  name: string;
  deployment_id: string | null;
  reference_dataset_id: string | null;
  current_dataset_id: string | null;
  target: string | null;
  window: IMonitorWindow;
  features: string[] | null;
  thresholds: IMonitorThresholds;
  channels: IAlertChannel[];
  cooldown_s: number;
  schedule_id: string | null;
  health: MonitorHealth | string;
  alerting: boolean;
  last_check_id: string | null;
  last_checked_at: string | null;
  created_by: string;
  created_at: string | null;
  updated_at: string | null;
  latest_check: ICheckBrief | null;
  schedule: IMonitorSchedule | null;
  /** Not in the API yet: links to the monitoring apps, when a server gives them. */
  app_url?: string | null;
  links?: Partial<Record<MonitorApp, string>> | null;
}

/** `POST monitors`. */
export interface ICreateMonitor {
  deployment: string;
  name?: string;
  reference_dataset?: string;
  window?: IMonitorWindow;
  thresholds?: Partial<IMonitorThresholds>;
  channels?: IAlertChannel[];
  cooldown_s?: number;
  cron?: string;
  timezone?: string;
}

/** `PATCH monitors/{id}`: omitted fields are kept; `cron: null` removes the schedule. */
export interface IUpdateMonitor {
  window?: IMonitorWindow;
  thresholds?: Partial<IMonitorThresholds>;
  channels?: IAlertChannel[];
  cooldown_s?: number;
  cron?: string | null;
  timezone?: string;
  paused?: boolean;
}

export interface IAlertEvent {
  id: string;
  monitor_id: string;
  check_id: string | null;
  event: 'fire' | 'recover' | 'remind' | string;
  channel: Record<string, unknown>;
  status: 'sent' | 'failed' | 'skipped' | string;
  attempts: number;
  error: string | null;
  summary: string;
  created_at: string | null;
  sent_at: string | null;
}

/** The defaults a new monitor gets (`services/monitors.py` DEFAULT_*). */
export const MONITOR_DEFAULTS = {
  drift_share: 0.5,
  performance_drop: 0.05,
  window: { last_n: 1000 } as IMonitorWindow,
  cooldown_s: 3600,
  cron: '0 * * * *'
};

/** The monitoring apps (Voila) a monitor links to. */
export type MonitorApp = 'drift' | 'performance' | 'whatif';

export const MONITOR_APPS: ReadonlyArray<{ app: MonitorApp; label: string }> = [
  { app: 'drift', label: 'Drift' },
  { app: 'performance', label: 'Performance' },
  { app: 'whatif', label: 'What-if' }
];

/**
 * The URL of a monitoring app for a monitor: the one place that knows the
 * apps' URL scheme. A link the server gives (`links[app]`, or `app_url` for
 * the drift app) wins; otherwise LabCycle's Voila route below the server's
 * base URL (`labcycle/apps/<app>?monitor=<id>`, the what-if app by
 * deployment; see `labcycle/apps/launch.py`).
 */
export function monitorAppUrl(
  baseUrl: string,
  monitor: Pick<IMonitor, 'id' | 'deployment_id' | 'app_url' | 'links'>,
  app: MonitorApp
): string {
  const given = monitor.links?.[app];
  if (given) {
    return given;
  }
  if (app === 'drift' && monitor.app_url) {
    return monitor.app_url;
  }
  const query =
    app === 'whatif' && monitor.deployment_id
      ? `?deployment=${encodeURIComponent(monitor.deployment_id)}`
      : `?monitor=${encodeURIComponent(monitor.id)}`;
  return URLExt.join(baseUrl, 'labcycle', 'apps', app) + query;
}
