import * as React from 'react';

import {
  formatDate,
  formatDuration,
  runDuration,
  runLabel,
  shortId
} from '../format';
import { LineageButton } from '../commandBridge';
import { IRunDetail } from '../models';
import { RefreshButton } from './States';
import { StatusBadge } from './StatusBadge';

export interface IRunHeaderProps {
  run: IRunDetail;
  now: number;
  /** Offered when the run has a notebook snapshot. */
  snapshotName: string | null;
  snapshotBusy: boolean;
  onOpenSnapshot: () => void;
  onRefresh: () => void;
  /** Offered for an ended run: re-execute its snapshot as a new job. */
  onReproduce?: () => Promise<void>;
}

/** Name, status and the facts that say where a run came from. */
export function RunHeader(props: IRunHeaderProps): JSX.Element {
  const { run } = props;
  const [reproducing, setReproducing] = React.useState(false);
  const reproduce = () => {
    if (!props.onReproduce) {
      return;
    }
    setReproducing(true);
    void props.onReproduce().finally(() => setReproducing(false));
  };
  const git = run.git ?? {};
  const facts: Array<[string, React.ReactNode, string?]> = [
    ['User', run.user || '—'],
    ['Started', formatDate(run.start_time), run.start_time],
    [
      'Ended',
      run.end_time
        ? formatDate(run.end_time)
        : run.status === 'running'
          ? 'still running'
          : '—',
      run.end_time ?? undefined
    ],
    ['Duration', formatDuration(runDuration(run, props.now))],
    [
      run.notebook_path && !run.notebook_path.endsWith('.ipynb')
        ? 'Script'
        : 'Notebook',
      run.notebook_path ? <code>{run.notebook_path}</code> : '—',
      run.notebook_path ?? undefined
    ],
    ['Source', run.source || '—'],
    ['Kernel', run.kernel || '—'],
    ['Python', run.python_version || '—'],
    [
      'Git',
      git.commit ? (
        <span>
          <code title={git.commit}>{git.commit.slice(0, 10)}</code>
          {git.branch && (
            <>
              {' '}
              on <code>{git.branch}</code>
            </>
          )}
          {git.dirty && (
            <span
              className="lc-tag lc-tag-warn"
              title="Uncommitted changes when the run started"
            >
              dirty
            </span>
          )}
        </span>
      ) : (
        '—'
      ),
      git.remote ?? undefined
    ]
  ];
  if (run.parent_run_id) {
    facts.push([
      'Parent run',
      <code key="parent" title={run.parent_run_id}>
        {shortId(run.parent_run_id)}
      </code>
    ]);
  }
  const tags = Object.entries(run.tags ?? {}).sort(([a], [b]) =>
    a.localeCompare(b)
  );

  return (
    <header className="lc-run-header">
      {(run.project_name || run.experiment_name) && (
        <div className="lc-breadcrumb lc-muted">
          {[run.project_name, run.experiment_name].filter(Boolean).join(' / ')}
        </div>
      )}
      <div className="lc-run-title-row">
        <h2 className="lc-run-title" title={run.id}>
          {runLabel(run)}
        </h2>
        <StatusBadge status={run.status} />
        <span className="lc-run-id lc-muted" title="Run id">
          {run.id}
        </span>
        <span className="lc-spacer" />
        {props.snapshotName && (
          <button
            className="jp-Button jp-mod-styled jp-mod-accept lc-open-snapshot"
            onClick={props.onOpenSnapshot}
            disabled={props.snapshotBusy}
            title={`Open ${props.snapshotName} as a read-only copy`}
          >
            {props.snapshotBusy ? 'Opening…' : 'Open snapshot'}
          </button>
        )}
        {props.onReproduce && (
          <button
            className="jp-Button jp-mod-styled lc-reproduce"
            onClick={reproduce}
            disabled={reproducing}
            title="Re-execute this run's notebook snapshot with the same parameters, as a new job"
          >
            {reproducing ? 'Starting…' : 'Reproduce'}
          </button>
        )}
        <LineageButton type="run" id={run.id} title={runLabel(run)} />
        <RefreshButton onClick={props.onRefresh} />
      </div>
      {run.out_of_order && (
        <div className="lc-banner lc-banner-warn lc-out-of-order" role="status">
          Cells ran out of order in this run: the notebook as saved may not
          reproduce these results. Check the cell execution history below.
        </div>
      )}
      <dl className="lc-facts">
        {facts.map(([label, value, title]) => (
          <div className="lc-fact" key={label} title={title}>
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      {tags.length > 0 && (
        <div className="lc-tags">
          {tags.map(([key, value]) => (
            <span className="lc-tag" key={key} title={`${key}=${value}`}>
              {key}
              {value !== '' && <span className="lc-tag-value">{value}</span>}
            </span>
          ))}
        </div>
      )}
    </header>
  );
}
