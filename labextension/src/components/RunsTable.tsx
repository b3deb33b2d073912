import * as React from 'react';

import {
  formatDate,
  formatDuration,
  formatMetric,
  formatAgo,
  isFiniteMetric,
  pickMetricKeys,
  runDuration,
  runLabel
} from '../format';
import { IRun } from '../models';
import { activateOnKey } from './ProjectTree';
import { StatusBadge } from './StatusBadge';

export interface IRunsTableProps {
  runs: IRun[];
  /** More runs exist than were fetched. */
  truncated: boolean;
  /** Now, in ms: durations of running runs tick with it. */
  now: number;
  onOpen: (run: IRun) => void;
}

/** A run with its nesting depth (child runs follow their parent). */
interface IRow {
  run: IRun;
  depth: number;
}

/**
 * Order runs so child runs follow their parent, newest first at each level;
 * a child whose parent is not in the list is shown at the top level.
 */
export function nestRuns(runs: IRun[]): IRow[] {
  const ids = new Set(runs.map(run => run.id));
  const children = new Map<string, IRun[]>();
  const roots: IRun[] = [];
  for (const run of runs) {
    const parent = run.parent_run_id;
    if (parent && parent !== run.id && ids.has(parent)) {
      const list = children.get(parent) ?? [];
      list.push(run);
      children.set(parent, list);
    } else {
      roots.push(run);
    }
  }
  const rows: IRow[] = [];
  const seen = new Set<string>();
  const visit = (run: IRun, depth: number) => {
    if (seen.has(run.id)) {
      return;
    }
    seen.add(run.id);
    rows.push({ run, depth });
    for (const child of children.get(run.id) ?? []) {
      visit(child, depth + 1);
    }
  };
  roots.forEach(run => visit(run, 0));
  // Runs caught in a parent cycle are shown flat rather than lost.
  runs.forEach(run => visit(run, 0));
  return rows;
}

/** The runs of an experiment, one clickable row each. */
export function RunsTable(props: IRunsTableProps): JSX.Element {
  const metricKeys = React.useMemo(
    () => pickMetricKeys(props.runs),
    [props.runs]
  );
  const rows = React.useMemo(() => nestRuns(props.runs), [props.runs]);
  return (
    <div className="lc-table-wrap">
      <table className="lc-table lc-runs-table">
        <thead>
          <tr>
            <th className="lc-col-name">Run</th>
            <th>Status</th>
            <th>Start</th>
            <th className="lc-num">Duration</th>
            {metricKeys.map(key => (
              <th
                key={key}
                className="lc-num lc-metric-col"
                title={`Latest ${key}`}
              >
                {key}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map(({ run, depth }) => {
            const open = () => props.onOpen(run);
            return (
              <tr
                key={run.id}
                className={`lc-run-row lc-run-${run.status}`}
                data-run-id={run.id}
                data-status={run.status}
                onClick={open}
                onKeyDown={event => activateOnKey(event, open)}
                tabIndex={0}
                title={`Open run ${runLabel(run)}`}
              >
                <td className="lc-col-name">
                  <span
                    className="lc-run-name"
                    style={
                      depth ? { paddingLeft: `${depth * 12}px` } : undefined
                    }
                  >
                    {depth > 0 && (
                      <span className="lc-child-mark" aria-hidden="true">
                        ↳{' '}
                      </span>
                    )}
                    {runLabel(run)}
                  </span>
                </td>
                <td className="lc-col-status">
                  <StatusBadge status={run.status} />
                </td>
                <td
                  className="lc-col-start lc-nowrap"
                  title={`Started ${formatDate(run.start_time)}`}
                >
                  {formatAgo(run.start_time, props.now)}
                </td>
                <td
                  className="lc-col-duration lc-num lc-nowrap"
                  title="Duration"
                >
                  {formatDuration(runDuration(run, props.now))}
                </td>
                {metricKeys.map(key => {
                  const value = run.metrics?.[key];
                  const nonFinite =
                    value !== undefined && !isFiniteMetric(value);
                  return (
                    <td
                      key={key}
                      className={
                        'lc-num lc-metric-cell' +
                        (nonFinite ? ' lc-nonfinite' : '') +
                        (value === undefined ? ' lc-empty-cell' : '')
                      }
                      data-metric={key}
                      title={`${key} (latest)`}
                    >
                      {formatMetric(value)}
                    </td>
                  );
                })}
              </tr>
            );
          })}
        </tbody>
      </table>
      {props.truncated && (
        <div className="lc-muted lc-table-note">
          Showing the {props.runs.length} most recent runs.
        </div>
      )}
    </div>
  );
}
