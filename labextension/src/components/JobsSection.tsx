import { ISignal } from '@lumino/signaling';
import * as React from 'react';

import { LabCycleClient } from '../client';
import { formatAgo, formatDate, formatDuration, shortId } from '../format';
import { useNow, usePoll } from '../hooks';
import { IJob, ISweep } from '../models_jobs';
import { ErrorState, Loading, StaleBanner, errorMessage } from './States';

/** How often jobs and sweeps are polled while the section is open (ms). */
export const JOBS_POLL_MS = 2000;

export interface IJobsSectionProps {
  client: LabCycleClient;
  /** The section is open and the panel on screen. */
  active: boolean;
  refresh: ISignal<unknown, void>;
  /** A job or sweep to highlight (just submitted). */
  focusId: string | null;
  onOpenRun: (runId: string, label?: string) => void;
  onOpenExecuted: (job: IJob) => Promise<void>;
}

interface IJobsData {
  jobs: IJob[];
  sweeps: ISweep[];
}

const JOB_BADGE: Record<string, string> = {
  pending: 'unknown',
  queued: 'unknown',
  running: 'running',
  succeeded: 'finished',
  failed: 'failed',
  cancelled: 'killed'
};

/** A job's or sweep's status as the same pills as runs. */
export function JobStatus(props: { status: string }): JSX.Element {
  return (
    <span
      className={`lc-status lc-status-${JOB_BADGE[props.status] ?? 'unknown'} lc-job-status`}
      data-status={props.status}
      title={`Status: ${props.status}`}
    >
      <span className="lc-status-dot" aria-hidden="true" />
      {props.status}
    </span>
  );
}

const isLive = (status: string) =>
  status === 'pending' || status === 'queued' || status === 'running';

/** Recent notebook jobs and sweeps, live while something runs. */
export function JobsSection(props: IJobsSectionProps): JSX.Element {
  const { client, active, refresh, focusId } = props;
  const fetchJobs = React.useCallback(async (): Promise<IJobsData> => {
    const [jobs, sweeps] = await Promise.all([
      client.listJobs(50),
      client.listSweeps(20)
    ]);
    return { jobs, sweeps };
  }, [client]);
  const state = usePoll<IJobsData>(fetchJobs, {
    interval: JOBS_POLL_MS,
    active,
    key: 'jobs',
    refresh
  });
  const reload = state.reload;
  // A job just submitted: fetch at once.
  React.useEffect(() => {
    if (focusId) {
      reload();
    }
  }, [focusId, reload]);
  const anyLive = (state.data?.jobs ?? []).some(j => isLive(j.status));
  const now = useNow(anyLive ? 1000 : 30000, active);
  const [actionError, setActionError] = React.useState<string | null>(null);

  const act = (action: () => Promise<unknown>) => {
    setActionError(null);
    action()
      .then(() => reload())
      .catch(error => setActionError(errorMessage(error)));
  };

  if (!state.data) {
    return state.error ? (
      <ErrorState
        title="Cannot load jobs"
        error={state.error}
        onRetry={reload}
      />
    ) : (
      <Loading label="Loading jobs…" />
    );
  }
  const { jobs, sweeps } = state.data;
  const sweepIds = new Set(sweeps.map(s => s.id));
  const standalone = jobs.filter(j => !j.sweep_id || !sweepIds.has(j.sweep_id));
  const rowProps = {
    now,
    focusId,
    onCancel: (job: IJob) => act(() => client.cancelJob(job.id)),
    onOpenRun: props.onOpenRun,
    onOpenExecuted: (job: IJob) => act(() => props.onOpenExecuted(job))
  };

  return (
    <div className="lc-jobs-list">
      {state.error && <StaleBanner error={state.error} onRetry={reload} />}
      {actionError && (
        <div
          className="lc-banner lc-banner-error lc-job-action-error"
          role="alert"
        >
          <span className="lc-banner-text">{actionError}</span>
        </div>
      )}
      {jobs.length === 0 && sweeps.length === 0 && (
        <div className="lc-hint lc-jobs-empty">
          No jobs yet. Open a notebook and press <b>Run as experiment…</b> in
          its toolbar, or run <code>labcycle run NOTEBOOK</code>.
        </div>
      )}
      {sweeps.map(sweep => (
        <SweepGroup
          key={sweep.id}
          sweep={sweep}
          jobs={jobs.filter(j => j.sweep_id === sweep.id)}
          focused={sweep.id === focusId}
          onCancel={() => act(() => client.cancelSweep(sweep.id))}
          rowProps={rowProps}
        />
      ))}
      {standalone.length > 0 && (
        <ul className="lc-job-list">
          {standalone.map(job => (
            <JobRow key={job.id} job={job} {...rowProps} />
          ))}
        </ul>
      )}
    </div>
  );
}

interface IRowProps {
  now: number;
  focusId: string | null;
  onCancel: (job: IJob) => void;
  onOpenRun: (runId: string, label?: string) => void;
  onOpenExecuted: (job: IJob) => void;
}

function SweepGroup(props: {
  sweep: ISweep;
  jobs: IJob[];
  focused: boolean;
  onCancel: () => void;
  rowProps: IRowProps;
}): JSX.Element {
  const { sweep } = props;
  const p = sweep.progress;
  const counts = [
    p.running && `${p.running} running`,
    p.pending + (p.queued ?? 0) + p.not_submitted &&
      `${p.pending + (p.queued ?? 0) + p.not_submitted} waiting`,
    p.failed && `${p.failed} failed`,
    p.cancelled && `${p.cancelled} cancelled`
  ].filter(Boolean);
  return (
    <details
      className={`lc-sweep${props.focused ? ' lc-focused' : ''}`}
      data-sweep-id={sweep.id}
      data-status={sweep.status}
      open={sweep.status === 'running' || props.focused}
    >
      <summary className="lc-sweep-head">
        <span className="lc-job-name" title={sweep.id}>
          {sweep.name || shortId(sweep.id)}
        </span>
        <span className="lc-tag lc-sweep-tag">
          sweep · {sweep.parallel} parallel
        </span>
        <JobStatus status={sweep.status} />
        <span className="lc-sweep-counts lc-muted">
          {p.done}/{p.total} done
          {counts.length ? ` · ${counts.join(' · ')}` : ''}
        </span>
        <ProgressBar value={p.done} total={p.total} />
        {sweep.status === 'running' && (
          <button
            className="lc-link-button lc-sweep-cancel"
            onClick={e => {
              e.preventDefault();
              props.onCancel();
            }}
          >
            Cancel
          </button>
        )}
      </summary>
      {sweep.error && (
        <div className="lc-error-text lc-job-error">{sweep.error}</div>
      )}
      <ul className="lc-job-list">
        {props.jobs.map(job => (
          <JobRow key={job.id} job={job} {...props.rowProps} />
        ))}
      </ul>
    </details>
  );
}

function JobRow(props: IRowProps & { job: IJob }): JSX.Element {
  const { job, now } = props;
  const { cell, total } = job.progress ?? { cell: null, total: null };
  const started = job.started_at ? Date.parse(job.started_at) : NaN;
  const ended = job.ended_at ? Date.parse(job.ended_at) : now;
  const duration = isNaN(started)
    ? null
    : Math.max(0, (ended - started) / 1000);
  const params = Object.entries(job.parameters ?? {})
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ');
  return (
    <li
      className={`lc-job-row${props.focusId === job.id ? ' lc-focused' : ''}`}
      data-job-id={job.id}
      data-status={job.status}
    >
      <div className="lc-job-line">
        <span className="lc-job-name" title={job.id}>
          {job.name || shortId(job.id)}
        </span>
        <JobStatus status={job.status} />
      </div>
      <div className="lc-job-line lc-muted">
        <span className="lc-job-notebook" title={job.notebook}>
          {job.notebook.split('/').pop()}
        </span>
        <span
          className="lc-job-time"
          title={`Created ${formatDate(job.created_at)}`}
        >
          {job.started_at ? formatAgo(job.started_at, now) : 'queued'}
          {duration !== null && ` · ${formatDuration(duration)}`}
        </span>
      </div>
      {params && (
        <div className="lc-job-params lc-muted" title={params}>
          {params}
        </div>
      )}
      {total ? (
        <div className="lc-job-progress">
          <ProgressBar value={cell ?? 0} total={total} />
          <span className="lc-job-progress-text">
            cell {cell ?? 0} of {total}
          </span>
        </div>
      ) : null}
      {job.error && (
        <div className="lc-error-text lc-job-error" title={job.error}>
          {job.error}
        </div>
      )}
      <div className="lc-job-actions">
        {isLive(job.status) && (
          <button
            className="lc-link-button lc-job-cancel"
            disabled={job.cancel_requested}
            onClick={() => props.onCancel(job)}
          >
            {job.cancel_requested ? 'Cancelling…' : 'Cancel'}
          </button>
        )}
        {job.run_id && !isLive(job.status) && (
          <button
            className="lc-link-button lc-job-open-notebook"
            onClick={() => props.onOpenExecuted(job)}
            title="Open the executed notebook (read-only)"
          >
            Executed notebook
          </button>
        )}
        {job.run_id && (
          <button
            className="lc-link-button lc-job-open-run"
            onClick={() => props.onOpenRun(job.run_id!, job.name)}
          >
            Open run
          </button>
        )}
      </div>
    </li>
  );
}

function ProgressBar(props: { value: number; total: number }): JSX.Element {
  const pct =
    props.total > 0 ? Math.min(100, (100 * props.value) / props.total) : 0;
  return (
    <span
      className="lc-progress"
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={props.total}
      aria-valuenow={props.value}
    >
      <span className="lc-progress-fill" style={{ width: `${pct}%` }} />
    </span>
  );
}
