import { ISignal } from '@lumino/signaling';
import * as React from 'react';

import { LabCycleClient } from '../client';
import { useNow, usePoll } from '../hooks';
import { IDeployment } from '../models_jobs';
import {
  ICreateMonitor,
  IMonitor,
  IMonitorWindow,
  MONITOR_DEFAULTS
} from '../models_monitors';
import {
  ChannelInputs,
  CooldownInput,
  CronInput,
  FormFooter,
  FormInput,
  HealthBadge,
  IChannelFields,
  MonitorCard,
  ThresholdInputs,
  cooldownField,
  fieldsToChannels,
  numberField,
  thresholdFields,
  useFormSubmit
} from './MonitorCard';
import { ErrorState, Loading, StaleBanner } from './States';

/** How often monitors are polled while the section is open (ms). */
export const MONITORS_POLL_MS = 5000;

export interface IMonitorsSectionProps {
  client: LabCycleClient;
  /** The section is open and the panel on screen. */
  active: boolean;
  refresh: ISignal<unknown, void>;
}

interface IMonitorsData {
  monitors: IMonitor[];
  deployments: IDeployment[];
}

/** A health badge per deployed model, with its monitor's checks and alerts. */
export function MonitorsSection(props: IMonitorsSectionProps): JSX.Element {
  const { client, active, refresh } = props;
  const fetchAll = React.useCallback(async (): Promise<IMonitorsData> => {
    const [monitors, deployments] = await Promise.all([
      client.listMonitors(),
      client.listDeployments(200)
    ]);
    return { monitors, deployments };
  }, [client]);
  const state = usePoll<IMonitorsData>(fetchAll, {
    interval: MONITORS_POLL_MS,
    active,
    key: 'monitors',
    refresh
  });
  const now = useNow(15000, active);
  const [adding, setAdding] = React.useState<string | null>(null);
  const [focusId, setFocusId] = React.useState<string | null>(null);

  if (!state.data) {
    return state.error ? (
      <ErrorState
        title="Cannot load monitors"
        error={state.error}
        onRetry={state.reload}
      />
    ) : (
      <Loading label="Loading monitors…" />
    );
  }
  const { monitors, deployments } = state.data;
  const byId = new Map(deployments.map(d => [d.id, d]));
  const watched = new Set(monitors.map(m => m.deployment_id));
  const unwatched = deployments.filter(
    d => d.desired !== 'stopped' && !watched.has(d.id)
  );
  const baseUrl = client.serverSettings.baseUrl;

  return (
    <div className="lc-monitors-list">
      {state.error && (
        <StaleBanner error={state.error} onRetry={state.reload} />
      )}
      {monitors.length === 0 && deployments.length === 0 && (
        <div className="lc-hint lc-monitors-empty">
          Nothing to watch yet. Deploy a model (Models section), then add a
          monitor on it.
        </div>
      )}
      {monitors.length > 0 && (
        <ul className="lc-monitor-list">
          {sortByConcern(monitors).map(m => (
            <MonitorCard
              key={m.id}
              client={client}
              monitor={m}
              deployment={
                m.deployment_id ? byId.get(m.deployment_id) : undefined
              }
              baseUrl={baseUrl}
              active={active}
              now={now}
              refresh={refresh}
              focused={m.id === focusId}
              onChanged={state.reload}
            />
          ))}
        </ul>
      )}
      {unwatched.length > 0 && (
        <>
          <div className="lc-subsection-title">
            Deployments without a monitor
            <span className="lc-count">{unwatched.length}</span>
          </div>
          <ul className="lc-monitor-list">
            {unwatched.map(d => (
              <li
                key={d.id}
                className="lc-monitor lc-unwatched"
                data-deployment-id={d.id}
              >
                <div className="lc-job-line">
                  <span className="lc-monitor-name" title={d.id}>
                    {d.name}
                  </span>
                  <HealthBadge health="unknown" />
                </div>
                <div className="lc-job-line lc-muted">
                  <code>{d.model_ref}</code>
                  <button
                    className="lc-link-button lc-add-monitor-for"
                    onClick={() => setAdding(d.id)}
                  >
                    Add monitor
                  </button>
                </div>
              </li>
            ))}
          </ul>
        </>
      )}
      {adding !== null ? (
        <AddMonitorForm
          deployments={deployments.filter(d => d.desired !== 'stopped')}
          initial={adding}
          onCancel={() => setAdding(null)}
          onCreate={async body => {
            const created = await client.createMonitor(body);
            setAdding(null);
            setFocusId(created.id);
            state.reload();
          }}
        />
      ) : (
        deployments.some(d => d.desired !== 'stopped') && (
          <div className="lc-monitors-toolbar">
            <button
              className="jp-Button jp-mod-styled lc-add-monitor"
              onClick={() => setAdding(unwatched[0]?.id ?? '')}
            >
              Add monitor…
            </button>
          </div>
        )
      )}
    </div>
  );
}

const CONCERN: Record<string, number> = {
  degraded: 0,
  error: 1,
  drift: 2,
  no_data: 3,
  unknown: 4,
  ok: 5
};

/** Monitors with a problem first (alerting ones before the rest), else as listed. */
export function sortByConcern(monitors: IMonitor[]): IMonitor[] {
  const rank = (m: IMonitor) =>
    (m.alerting ? 0 : 10) + (CONCERN[m.health] ?? 4);
  return monitors
    .map((m, i) => ({ m, i }))
    .sort((a, b) => rank(a.m) - rank(b.m) || a.i - b.i)
    .map(({ m }) => m);
}

/** The "Add monitor" form: deployment, reference, window, schedule, channels. */
function AddMonitorForm(props: {
  deployments: IDeployment[];
  initial: string;
  onCreate: (body: ICreateMonitor) => Promise<void>;
  onCancel: () => void;
}): JSX.Element {
  const [deployment, setDeployment] = React.useState(
    props.initial || props.deployments[0]?.id || ''
  );
  const [name, setName] = React.useState('');
  const [reference, setReference] = React.useState('');
  const [windowKind, setWindowKind] = React.useState<'last_n' | 'last'>(
    'last_n'
  );
  const [windowValue, setWindowValue] = React.useState('1000');
  const [cron, setCron] = React.useState(MONITOR_DEFAULTS.cron);
  const [driftShare, setDriftShare] = React.useState(
    String(MONITOR_DEFAULTS.drift_share)
  );
  const [perfDrop, setPerfDrop] = React.useState(
    String(MONITOR_DEFAULTS.performance_drop)
  );
  const [cooldown, setCooldown] = React.useState(
    String(MONITOR_DEFAULTS.cooldown_s)
  );
  const [channels, setChannels] = React.useState<IChannelFields>({
    webhookUrl: '',
    webhookSecret: '',
    secretSet: false,
    emails: ''
  });
  const { saving, error, submit } = useFormSubmit(async () => {
    if (!deployment) {
      throw new Error('Pick the deployment to watch.');
    }
    const window: IMonitorWindow =
      windowKind === 'last_n'
        ? { last_n: numberField(windowValue, 'Window', 1000)! }
        : { last: windowValue.trim() || '1d' };
    const body: ICreateMonitor = {
      deployment,
      window,
      thresholds: thresholdFields(driftShare, perfDrop),
      cooldown_s: cooldownField(cooldown),
      channels: fieldsToChannels(channels)
    };
    if (name.trim()) {
      body.name = name.trim();
    }
    if (reference.trim()) {
      body.reference_dataset = reference.trim();
    }
    if (cron.trim()) {
      body.cron = cron.trim();
    }
    await props.onCreate(body);
  });

  return (
    <form
      className="lc-monitor-form lc-add-monitor-form"
      onSubmit={e => void submit(e)}
      aria-label="Add monitor"
    >
      <div className="lc-subsection-title">Add monitor</div>
      <label className="lc-form-field">
        <span>Deployment</span>
        <select
          className="jp-mod-styled lc-deployment-picker"
          value={deployment}
          onChange={e => setDeployment(e.target.value)}
        >
          {props.deployments.map(d => (
            <option key={d.id} value={d.id}>
              {d.name} ({d.model_ref})
            </option>
          ))}
        </select>
      </label>
      <FormInput
        label="Name"
        className="lc-monitor-name-input"
        placeholder="default: <deployment>-monitor"
        value={name}
        onChange={setName}
      />
      <FormInput
        label="Reference data"
        className="lc-reference"
        placeholder="default: the model's training data"
        value={reference}
        onChange={setReference}
      />
      <div className="lc-form-field">
        <span>Window</span>
        <span className="lc-form-inline">
          <select
            className="jp-mod-styled lc-window-kind"
            aria-label="Window kind"
            value={windowKind}
            onChange={e => {
              const kind = e.target.value as 'last_n' | 'last';
              setWindowKind(kind);
              setWindowValue(kind === 'last_n' ? '1000' : '1d');
            }}
          >
            <option value="last_n">last N predictions</option>
            <option value="last">last period</option>
          </select>
          <input
            className="jp-mod-styled lc-window-value"
            aria-label="Window size"
            type="text"
            placeholder={windowKind === 'last_n' ? '1000' : '6h, 1d, 1w'}
            value={windowValue}
            onChange={e => setWindowValue(e.target.value)}
          />
        </span>
      </div>
      <CronInput value={cron} onChange={setCron} />
      <ThresholdInputs
        driftShare={driftShare}
        perfDrop={perfDrop}
        onDriftShare={setDriftShare}
        onPerfDrop={setPerfDrop}
        hints
      />
      <ChannelInputs fields={channels} onChange={setChannels} />
      <CooldownInput value={cooldown} onChange={setCooldown} />
      <FormFooter
        error={error}
        saving={saving}
        submitClass="lc-create-monitor"
        label="Create monitor"
        busyLabel="Creating…"
        onCancel={props.onCancel}
      />
    </form>
  );
}
