import { ISignal } from '@lumino/signaling';
import * as React from 'react';

import { LabCycleClient } from '../client';
import { LineageButton } from '../commandBridge';
import { formatAgo, formatDate, formatDuration } from '../format';
import { useAction, usePoll } from '../hooks';
import { IDeployment } from '../models_jobs';
import {
  IAlertChannel,
  IAlertEvent,
  ICheckBrief,
  IMonitor,
  IMonitorThresholds,
  IMonitorWindow,
  IUpdateMonitor,
  MONITOR_APPS,
  MONITOR_DEFAULTS,
  monitorAppUrl
} from '../models_monitors';
import { DriftTimeline } from './DriftTimeline';
import { errorMessage } from './States';

/** How often a monitor's checks and alerts are polled while it is on screen (ms). */
export const MONITOR_POLL_MS = 5000;

const HEALTH: Record<string, { label: string; glyph: string; hint: string }> = {
  ok: { label: 'OK', glyph: '✓', hint: 'The latest check found no drift' },
  drift: {
    label: 'Drift',
    glyph: '▲',
    hint: 'The latest check found drift above the threshold'
  },
  degraded: {
    label: 'Degraded',
    glyph: '▼',
    hint: 'Model performance dropped below its training value'
  },
  no_data: {
    label: 'No data',
    glyph: '∅',
    hint: 'Too few predictions in the window for a verdict'
  },
  error: { label: 'Error', glyph: '✕', hint: 'The latest check failed' },
  unknown: { label: 'Not checked', glyph: '?', hint: 'No check has run yet' }
};

/** A monitor's health as a pill: colour, a glyph and a word (never colour alone). */
export function HealthBadge(props: { health: string }): JSX.Element {
  const known = HEALTH[props.health] ? props.health : 'unknown';
  const info = HEALTH[known];
  return (
    <span
      className={`lc-status lc-health lc-health-${known}`}
      data-health={props.health}
      title={`Health: ${info.label}. ${info.hint}.`}
    >
      <span className="lc-health-glyph" aria-hidden="true">
        {info.glyph}
      </span>
      {info.label}
    </span>
  );
}

/** `in 23m`, `in 2h 07m` for a time to come; `due` once passed. */
export function formatIn(iso: string | null | undefined, now: number): string {
  if (!iso) {
    return '—';
  }
  const time = Date.parse(iso);
  if (isNaN(time)) {
    return iso;
  }
  const seconds = (time - now) / 1000;
  return seconds <= 1 ? 'due' : `in ${formatDuration(seconds)}`;
}

export function describeWindow(window: IMonitorWindow | null): string {
  if (!window) {
    return '—';
  }
  if ('last_n' in window) {
    return `last ${window.last_n.toLocaleString('en-US')} predictions`;
  }
  return `last ${window.last}`;
}

/** `2 of 4 features drifted (50%)` from a check's columns and share. */
export function driftedText(check: ICheckBrief): string {
  const cols = Object.entries(check.columns ?? {});
  const drifted = cols.filter(([, c]) => c.drifted).map(([name]) => name);
  if (check.share_drifted === null || check.share_drifted === undefined) {
    return '';
  }
  const share = `${Math.round(check.share_drifted * 100)}%`;
  if (!cols.length) {
    return `${share} of features drifted`;
  }
  return (
    `${drifted.length} of ${cols.length} features drifted (${share})` +
    (drifted.length ? `: ${drifted.join(', ')}` : '')
  );
}

/**
 * The check's summary without the drifted-features part shown above it:
 * `1,000 rows: 2 of 4 features drifted (a, b); dataset drift` → `1,000 rows · dataset drift`.
 */
export function summaryExtras(check: ICheckBrief): string {
  const summary = check.summary || '';
  if (!driftedText(check)) {
    return summary;
  }
  const match =
    /^([\d,]+ rows): \d+ of \d+ features drifted(?: \([^)]*\))?(?:; )?(.*)$/s.exec(
      summary
    );
  if (!match) {
    return summary;
  }
  return match[2] ? `${match[1]} · ${match[2]}` : match[1];
}

function alertText(alert: IAlertEvent): string {
  const what =
    alert.event === 'fire'
      ? 'Alert fired'
      : alert.event === 'recover'
        ? 'Recovery notice'
        : alert.event === 'remind'
          ? 'Reminder'
          : alert.event;
  const channel = alert.channel as {
    type?: string;
    url?: string;
    to?: string[];
  };
  const where =
    channel.type === 'webhook'
      ? ` to ${channel.url}`
      : channel.type === 'email'
        ? ` to ${(channel.to ?? []).join(', ')}`
        : '';
  const status =
    alert.status === 'skipped' && channel.type === 'none'
      ? 'skipped: no channel'
      : alert.status;
  return `${what}${where}: ${status}`;
}

interface IMonitorExtras {
  checks: ICheckBrief[];
  alerts: IAlertEvent[];
}

export interface IMonitorCardProps {
  client: LabCycleClient;
  monitor: IMonitor;
  deployment: IDeployment | undefined;
  baseUrl: string;
  active: boolean;
  now: number;
  refresh: ISignal<unknown, void>;
  focused: boolean;
  /** Something changed (a check ran, settings were saved): reload the list. */
  onChanged: () => void;
}

/** One monitor: health, latest check, drift timeline, run now, settings, app links. */
export function MonitorCard(props: IMonitorCardProps): JSX.Element {
  const { client, monitor: m, deployment: d, now } = props;
  const fetchExtras = React.useCallback(async (): Promise<IMonitorExtras> => {
    const [checks, alerts] = await Promise.all([
      client.listMonitorChecks(m.id, 30),
      client.listMonitorAlerts(m.id, 10)
    ]);
    return { checks, alerts };
  }, [client, m.id]);
  const extras = usePoll<IMonitorExtras>(fetchExtras, {
    interval: MONITOR_POLL_MS,
    active: props.active,
    key: `monitor:${m.id}`,
    refresh: props.refresh
  });
  const reloadExtras = extras.reload;
  // A check ran elsewhere (schedule, another user): fetch the timeline now.
  React.useEffect(() => {
    reloadExtras();
  }, [m.last_check_id, reloadExtras]);

  const { busy: running, error: runError, run } = useAction();
  const [fresh, setFresh] = React.useState<ICheckBrief | null>(null);
  const [editing, setEditing] = React.useState(false);

  const runNow = async () => {
    setFresh(null);
    await run(async () => setFresh(await client.runMonitorCheck(m.id)));
    reloadExtras();
    props.onChanged();
  };

  const latest = fresh ?? m.latest_check;
  const checks = extras.data?.checks ?? [];
  // The check just run shows in the timeline at once, before the next poll.
  const timeline =
    fresh && !checks.some(c => c.id === fresh.id) ? [fresh, ...checks] : checks;
  const lastAlert = extras.data?.alerts?.[0];

  return (
    <li
      className={`lc-monitor${props.focused ? ' lc-focused' : ''}`}
      data-monitor-id={m.id}
      data-health={m.health}
    >
      <div className="lc-job-line">
        <span className="lc-monitor-name" title={`${m.name}\n${m.id}`}>
          {m.name}
        </span>
        {m.alerting && (
          <span
            className="lc-tag lc-alerting"
            title="A problem persists: its alert was sent; the next one goes out when it clears or changes"
          >
            alerting
          </span>
        )}
        <HealthBadge health={m.health} />
      </div>
      <div className="lc-job-line lc-muted lc-monitor-target">
        {d ? (
          <span title={`Deployment ${d.name} (${d.status})`}>
            <span className="lc-monitor-deployment">{d.name}</span> ·{' '}
            <code>{d.model_ref}</code>
          </span>
        ) : m.current_dataset_id ? (
          <span>datasets</span>
        ) : (
          <span>deployment {m.deployment_id?.slice(0, 8)}</span>
        )}
        <span className="lc-monitor-window">{describeWindow(m.window)}</span>
      </div>

      <div className="lc-monitor-latest" aria-live="polite">
        {running ? (
          <div className="lc-loading lc-check-running" role="status">
            <span className="lc-spinner" aria-hidden="true" />
            Checking drift, data quality and performance…
          </div>
        ) : latest ? (
          <>
            <div className="lc-job-line">
              <span className="lc-check-label">
                {fresh ? 'New check' : 'Latest check'}
              </span>
              <span
                className={`lc-check-status lc-check-text-${latest.status}`}
                data-status={latest.status}
              >
                {latest.status.replace('_', ' ')}
              </span>
              <span
                className="lc-muted lc-check-time"
                title={formatDate(latest.started_at)}
              >
                {formatAgo(latest.started_at, now)}
                {latest.trigger === 'schedule' ? ' · scheduled' : ''}
              </span>
            </div>
            {driftedText(latest) && (
              <div className="lc-check-share">{driftedText(latest)}</div>
            )}
            <div
              className={`lc-check-summary${latest.error ? ' lc-error-text' : ' lc-muted'}`}
              title={latest.summary}
            >
              {latest.error || summaryExtras(latest)}
            </div>
          </>
        ) : (
          <div className="lc-muted">
            Not checked yet. Press <b>Run check now</b>
            {m.schedule ? ' or wait for the schedule' : ''}.
          </div>
        )}
        {runError && (
          <div className="lc-error-text lc-check-error" role="alert">
            {runError}
          </div>
        )}
      </div>

      {extras.error && !extras.data ? (
        <div className="lc-error-text lc-monitor-extras-error" role="alert">
          Cannot load the checks: {errorMessage(extras.error)}
        </div>
      ) : (
        <DriftTimeline
          checks={timeline}
          driftShare={m.thresholds?.drift_share ?? null}
          highlightId={fresh?.id}
        />
      )}

      {lastAlert && (
        <div
          className={`lc-monitor-alert lc-alert-${lastAlert.status}`}
          data-alert-status={lastAlert.status}
          title={lastAlert.error ?? lastAlert.summary}
        >
          {alertText(lastAlert)}
          <span className="lc-muted">
            {' '}
            · {formatAgo(lastAlert.created_at, now)}
          </span>
          {lastAlert.error && lastAlert.status !== 'skipped' && (
            <div className="lc-error-text">{lastAlert.error}</div>
          )}
        </div>
      )}

      <div className="lc-job-actions lc-monitor-actions">
        <button
          className="jp-Button jp-mod-styled jp-mod-accept lc-run-check"
          disabled={running}
          onClick={() => void runNow()}
          title="Compare the current window with the reference now"
        >
          {running ? 'Checking…' : 'Run check now'}
        </button>
        <span className="lc-monitor-apps">
          {MONITOR_APPS.map(({ app, label }) => (
            <a
              key={app}
              className="lc-link-button lc-monitor-app"
              data-app={app}
              href={monitorAppUrl(props.baseUrl, m, app)}
              target="_blank"
              rel="noreferrer"
              title={`Open the ${label.toLowerCase()} app in a new tab`}
            >
              {label}
            </a>
          ))}
        </span>
        <LineageButton type="monitor" id={m.id} title={m.name} link />
      </div>

      <details
        className="lc-monitor-settings"
        open={editing || undefined}
        onToggle={e => {
          if (!(e.target as HTMLDetailsElement).open) {
            setEditing(false);
          }
        }}
      >
        <summary>
          Alerts &amp; schedule
          <span className="lc-muted">
            {' '}
            ·{' '}
            {m.channels.length
              ? `${m.channels.length} channel${m.channels.length === 1 ? '' : 's'}`
              : 'no channel'}
            {m.schedule
              ? ` · next ${formatIn(m.schedule.next_run_at, now)}`
              : ''}
          </span>
        </summary>
        {editing ? (
          <MonitorSettingsForm
            monitor={m}
            onCancel={() => setEditing(false)}
            onSave={async body => {
              await client.updateMonitor(m.id, body);
              setEditing(false);
              props.onChanged();
            }}
          />
        ) : (
          <MonitorSettingsView
            monitor={m}
            now={now}
            alerts={extras.data?.alerts ?? []}
            onEdit={() => setEditing(true)}
          />
        )}
      </details>
    </li>
  );
}

function MonitorSettingsView(props: {
  monitor: IMonitor;
  now: number;
  alerts: IAlertEvent[];
  onEdit: () => void;
}): JSX.Element {
  const { monitor: m, now } = props;
  const t = m.thresholds ?? ({} as IMonitor['thresholds']);
  return (
    <div className="lc-settings-view">
      <dl className="lc-settings-list">
        <dt>Channels</dt>
        <dd className="lc-channels">
          {m.channels.length === 0 ? (
            <span className="lc-muted">
              none (alerts are logged only, as “skipped: no channel”)
            </span>
          ) : (
            m.channels.map((c, i) => (
              <div key={i} className="lc-channel" data-type={c.type}>
                {c.type === 'webhook' ? (
                  <>
                    webhook <code>{c.url}</code>
                    {c.secret_set ? (
                      <span className="lc-muted"> · signed (secret set)</span>
                    ) : null}
                  </>
                ) : (
                  <>e-mail {c.to.join(', ')}</>
                )}
              </div>
            ))
          )}
        </dd>
        <dt>Cooldown</dt>
        <dd>{formatDuration(m.cooldown_s)}</dd>
        <dt>Schedule</dt>
        <dd className="lc-schedule">
          {m.schedule ? (
            <>
              <code>{m.schedule.cron}</code> ({m.schedule.timezone})
              {m.schedule.paused ? (
                <span className="lc-tag">paused</span>
              ) : (
                <span
                  className="lc-muted lc-next-run"
                  title={formatDate(m.schedule.next_run_at)}
                >
                  {' '}
                  · next {formatDate(m.schedule.next_run_at)} (
                  {formatIn(m.schedule.next_run_at, now)})
                </span>
              )}
            </>
          ) : (
            <span className="lc-muted">on demand only</span>
          )}
        </dd>
        <dt>Thresholds</dt>
        <dd className="lc-thresholds">
          drift when ≥{' '}
          {Math.round((t.drift_share ?? MONITOR_DEFAULTS.drift_share) * 100)}%
          of features drift; degraded when a metric drops &gt;{' '}
          {t.performance_drop ?? MONITOR_DEFAULTS.performance_drop}
          {t.method ? ` · method ${t.method}` : ''}
          {t.threshold ? ` · threshold ${t.threshold}` : ''}
        </dd>
      </dl>
      {props.alerts.length > 0 && (
        <details className="lc-alert-log">
          <summary>Alert log ({props.alerts.length})</summary>
          <ul>
            {props.alerts.map(a => (
              <li key={a.id} data-alert-status={a.status} title={a.summary}>
                {alertText(a)}{' '}
                <span className="lc-muted">
                  · {formatAgo(a.created_at, now)}
                </span>
                {a.error && <div className="lc-muted">{a.error}</div>}
              </li>
            ))}
          </ul>
        </details>
      )}
      <button
        className="lc-link-button lc-edit-settings"
        onClick={props.onEdit}
      >
        Edit alerts &amp; schedule
      </button>
    </div>
  );
}

/** Channels as form fields, and back. */
export interface IChannelFields {
  webhookUrl: string;
  webhookSecret: string;
  /** A secret is stored for the current URL (kept unless a new one is typed). */
  secretSet: boolean;
  emails: string;
}

export function channelFields(channels: IAlertChannel[]): IChannelFields {
  const hook = channels.find(c => c.type === 'webhook');
  const mail = channels.find(c => c.type === 'email');
  return {
    webhookUrl: hook?.type === 'webhook' ? hook.url : '',
    webhookSecret: '',
    secretSet: hook?.type === 'webhook' ? Boolean(hook.secret_set) : false,
    emails: mail?.type === 'email' ? mail.to.join(', ') : ''
  };
}

export function fieldsToChannels(
  fields: IChannelFields,
  originalUrl = ''
): IAlertChannel[] {
  const out: IAlertChannel[] = [];
  const url = fields.webhookUrl.trim();
  if (url) {
    const hook: IAlertChannel = { type: 'webhook', url };
    if (fields.webhookSecret) {
      hook.secret = fields.webhookSecret;
    } else if (fields.secretSet && url === originalUrl) {
      hook.secret_set = true; // keep the stored secret
    }
    out.push(hook);
  }
  const to = fields.emails
    .split(/[,;\s]+/)
    .map(s => s.trim())
    .filter(Boolean);
  if (to.length) {
    out.push({ type: 'email', to });
  }
  return out;
}

/** Parse a number field; '' gives `fallback`, anything else not a number throws. */
export function numberField(
  value: string,
  label: string,
  fallback?: number
): number | undefined {
  if (!value.trim()) {
    return fallback;
  }
  const n = Number(value);
  if (!Number.isFinite(n)) {
    throw new Error(`${label} must be a number.`);
  }
  return n;
}

/** The channel fields shared by the settings form and the "Add monitor" form. */
export function ChannelInputs(props: {
  fields: IChannelFields;
  onChange: (fields: IChannelFields) => void;
}): JSX.Element {
  const { fields, onChange } = props;
  return (
    <>
      <label className="lc-form-field">
        <span>Webhook URL</span>
        <input
          className="jp-mod-styled lc-webhook-url"
          type="url"
          placeholder="https://hooks.example.com/labcycle"
          value={fields.webhookUrl}
          onChange={e => onChange({ ...fields, webhookUrl: e.target.value })}
        />
      </label>
      <label className="lc-form-field">
        <span>Webhook secret</span>
        <input
          className="jp-mod-styled lc-webhook-secret"
          type="password"
          autoComplete="new-password"
          placeholder={
            fields.secretSet
              ? 'set (type to replace)'
              : 'optional: signs each request (HMAC)'
          }
          value={fields.webhookSecret}
          onChange={e => onChange({ ...fields, webhookSecret: e.target.value })}
        />
      </label>
      <label className="lc-form-field">
        <span>E-mail to</span>
        <input
          className="jp-mod-styled lc-emails"
          type="text"
          placeholder="owner@example.com, team@example.com"
          value={fields.emails}
          onChange={e => onChange({ ...fields, emails: e.target.value })}
        />
      </label>
    </>
  );
}

/** Submit state of a form: `submit` runs `action`, showing "saving" and any error. */
export function useFormSubmit(action: () => Promise<void>): {
  saving: boolean;
  error: string | null;
  submit: (e: React.FormEvent) => Promise<void>;
} {
  const { busy, error, run } = useAction();
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    await run(action);
  };
  return { saving: busy, error, submit };
}

/** The thresholds of a monitor form's fields ('' gives the default). */
export function thresholdFields(
  driftShare: string,
  perfDrop: string
): Partial<IMonitorThresholds> {
  return {
    drift_share: numberField(
      driftShare,
      'Drift share',
      MONITOR_DEFAULTS.drift_share
    ),
    performance_drop: numberField(
      perfDrop,
      'Performance drop',
      MONITOR_DEFAULTS.performance_drop
    )
  };
}

/** The cooldown of a monitor form's field ('' gives the default). */
export function cooldownField(cooldown: string): number | undefined {
  return numberField(cooldown, 'Cooldown', MONITOR_DEFAULTS.cooldown_s);
}

/** A labelled input of the monitor forms. */
export function FormInput(props: {
  label: string;
  className: string;
  value: string;
  onChange: (value: string) => void;
  type?: 'text' | 'number';
  placeholder?: string;
  step?: string;
  max?: number;
  title?: string;
}): JSX.Element {
  const { label, className, onChange, type = 'text', ...rest } = props;
  return (
    <label className="lc-form-field">
      <span>{label}</span>
      <input
        className={`jp-mod-styled ${className}`}
        type={type}
        min={type === 'number' ? 0 : undefined}
        {...rest}
        onChange={e => onChange(e.target.value)}
      />
    </label>
  );
}

export function CronInput(props: {
  value: string;
  onChange: (value: string) => void;
}): JSX.Element {
  return (
    <FormInput
      label="Schedule (cron)"
      className="lc-cron"
      placeholder="empty: on demand only"
      {...props}
    />
  );
}

export function CooldownInput(props: {
  value: string;
  onChange: (value: string) => void;
}): JSX.Element {
  return (
    <FormInput
      label="Cooldown (s)"
      className="lc-cooldown"
      type="number"
      {...props}
    />
  );
}

/** Drift share and performance drop; `hints` adds a tooltip to each. */
export function ThresholdInputs(props: {
  driftShare: string;
  perfDrop: string;
  onDriftShare: (value: string) => void;
  onPerfDrop: (value: string) => void;
  hints?: boolean;
}): JSX.Element {
  return (
    <>
      <FormInput
        label="Drift share"
        className="lc-drift-share"
        type="number"
        step="0.05"
        max={1}
        value={props.driftShare}
        title={
          props.hints
            ? 'The dataset drifts when at least this share of its features drift'
            : undefined
        }
        onChange={props.onDriftShare}
      />
      <FormInput
        label="Performance drop"
        className="lc-perf-drop"
        type="number"
        step="0.01"
        max={1}
        value={props.perfDrop}
        title={
          props.hints
            ? 'Degraded when a metric falls more than this below its training value'
            : undefined
        }
        onChange={props.onPerfDrop}
      />
    </>
  );
}

/** A monitor form's error line and its submit and Cancel buttons. */
export function FormFooter(props: {
  error: string | null;
  saving: boolean;
  submitClass: string;
  label: string;
  busyLabel: string;
  onCancel: () => void;
}): JSX.Element {
  return (
    <>
      {props.error && (
        <div className="lc-error-text lc-form-error" role="alert">
          {props.error}
        </div>
      )}
      <div className="lc-form-actions">
        <button
          type="submit"
          className={`jp-Button jp-mod-styled jp-mod-accept ${props.submitClass}`}
          disabled={props.saving}
        >
          {props.saving ? props.busyLabel : props.label}
        </button>
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-reject"
          onClick={props.onCancel}
        >
          Cancel
        </button>
      </div>
    </>
  );
}

function MonitorSettingsForm(props: {
  monitor: IMonitor;
  onSave: (body: IUpdateMonitor) => Promise<void>;
  onCancel: () => void;
}): JSX.Element {
  const { monitor: m } = props;
  const originalUrl = channelFields(m.channels).webhookUrl;
  const [channels, setChannels] = React.useState(() =>
    channelFields(m.channels)
  );
  const [cooldown, setCooldown] = React.useState(String(m.cooldown_s));
  const [cron, setCron] = React.useState(m.schedule?.cron ?? '');
  const [driftShare, setDriftShare] = React.useState(
    String(m.thresholds?.drift_share ?? MONITOR_DEFAULTS.drift_share)
  );
  const [perfDrop, setPerfDrop] = React.useState(
    String(m.thresholds?.performance_drop ?? MONITOR_DEFAULTS.performance_drop)
  );
  const { saving, error, submit } = useFormSubmit(async () => {
    const body: IUpdateMonitor = {
      channels: fieldsToChannels(channels, originalUrl),
      cooldown_s: cooldownField(cooldown),
      thresholds: {
        ...m.thresholds,
        ...thresholdFields(driftShare, perfDrop)
      }
    };
    const newCron = cron.trim();
    if (newCron !== (m.schedule?.cron ?? '')) {
      body.cron = newCron || null;
    }
    await props.onSave(body);
  });

  return (
    <form
      className="lc-monitor-form lc-settings-form"
      onSubmit={e => void submit(e)}
    >
      <ChannelInputs fields={channels} onChange={setChannels} />
      <CooldownInput value={cooldown} onChange={setCooldown} />
      <CronInput value={cron} onChange={setCron} />
      <ThresholdInputs
        driftShare={driftShare}
        perfDrop={perfDrop}
        onDriftShare={setDriftShare}
        onPerfDrop={setPerfDrop}
      />
      <FormFooter
        error={error}
        saving={saving}
        submitClass="lc-save-settings"
        label="Save"
        busyLabel="Saving…"
        onCancel={props.onCancel}
      />
    </form>
  );
}
