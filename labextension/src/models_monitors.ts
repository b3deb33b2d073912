/**
 * Typed models of the monitor routes (v1): `monitors`, `monitors/{id}`,
 * `monitors/{id}/checks`, `monitors/{id}/alerts`.
 *
 * Payload types are aliases of `./api/schema` (generated from the
 * OpenAPI document, `make api-types`); only free-form JSON fields are narrowed here.
 */
import { URLExt } from '@jupyterlab/coreutils';

import { components } from './api/schema';

export type MonitorHealth =
  'unknown' | 'ok' | 'drift' | 'degraded' | 'no_data' | 'error';

export type CheckStatus = 'ok' | 'drift' | 'degraded' | 'no_data' | 'error';

export interface IColumnScore {
  score: number | null;
  drifted: boolean | null;
}

/** A check as the timeline lists it (`full=false`); `columns` holds per-column scores. */
export type ICheckBrief = Omit<
  components['schemas']['CheckBrief'],
  'columns'
> & {
  columns?: Record<string, IColumnScore> | null;
};

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

export type IMonitorSchedule = components['schemas']['ScheduleBrief'];

/**
 * A monitor; the fields the API types as free-form JSON are given the shapes the
 * panel reads and writes.
 */
export type IMonitor = Omit<
  components['schemas']['Monitor'],
  'window' | 'thresholds' | 'channels' | 'latest_check'
> & {
  window: IMonitorWindow;
  thresholds: IMonitorThresholds;
  channels: IAlertChannel[];
  latest_check: ICheckBrief | null;
  /** Not in the API yet: links to the monitoring apps, when a server gives them. */
  app_url?: string | null;
  links?: Partial<Record<MonitorApp, string>> | null;
};

type CreateMonitor = components['schemas']['CreateMonitor'];
/** `POST monitors`. */
export type ICreateMonitor = {
  deployment: string;
} & Partial<
  Pick<
    CreateMonitor,
    'name' | 'reference_dataset' | 'cooldown_s' | 'cron' | 'timezone'
  >
> & {
    window?: IMonitorWindow;
    thresholds?: Partial<IMonitorThresholds>;
    channels?: IAlertChannel[];
  };

type UpdateMonitor = components['schemas']['UpdateMonitor'];
/** `PATCH monitors/{id}`: omitted fields are kept; `cron: null` removes the schedule. */
export type IUpdateMonitor = Partial<
  Pick<UpdateMonitor, 'cooldown_s' | 'cron' | 'timezone' | 'paused'>
> & {
  window?: IMonitorWindow;
  thresholds?: Partial<IMonitorThresholds>;
  channels?: IAlertChannel[];
};

export type IAlertEvent = components['schemas']['Alert'];

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
