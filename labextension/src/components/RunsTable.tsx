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
import { useSignalValue } from '../hooks';
import { IRun } from '../models';
import { runSelection } from '../selection';
import { activateOnKey } from './ProjectTree';
import { StatusBadge } from './StatusBadge';

export interface IRunsTableProps {
  runs: IRun[];
  /** More runs exist than were fetched. */
  truncated: boolean;
  /** Now, in ms: durations of running runs tick with it. */
  now: number;
  onOpen: (run: IRun) => void;
  /** Asked for more runs when the rows in view near the end of a truncated list. */
  onNearEnd?: () => void;
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

/** Above this many rows only the rows in view are in the DOM. */
export const VIRTUAL_THRESHOLD = 120;
/** Rows rendered above and below the visible ones. */
const OVERSCAN = 12;
/** Rows from the end at which more runs are asked for. */
const NEAR_END = 200;
/** Row height before one is measured (px). */
const DEFAULT_ROW_HEIGHT = 29;

/**
 * The slice of `count` rows of `rowHeight` px visible in a viewport of
 * `height` px scrolled by `scrollTop`, with `overscan` rows either side.
 */
export function visibleRange(
  count: number,
  rowHeight: number,
  scrollTop: number,
  height: number,
  overscan = OVERSCAN
): { start: number; end: number } {
  const h = Math.max(rowHeight, 1);
  const first = Math.floor(Math.max(scrollTop, 0) / h);
  const inView = Math.ceil(Math.max(height, h) / h) + 1;
  const start = Math.max(0, Math.min(first - overscan, count));
  const end = Math.min(count, first + inView + overscan);
  return { start, end: Math.max(start, end) };
}

/**
 * The runs of an experiment, one clickable row each, with a checkbox to pick
 * runs to compare. Long lists are windowed: only the rows in view (plus a
 * margin) are rendered, between two spacer rows, so 10,000 runs scroll as
 * smoothly as 10.
 */
export function RunsTable(props: IRunsTableProps): JSX.Element {
  const metricKeys = React.useMemo(
    () => pickMetricKeys(props.runs),
    [props.runs]
  );
  const rows = React.useMemo(() => nestRuns(props.runs), [props.runs]);
  const virtual = rows.length > VIRTUAL_THRESHOLD;
  const wrap = React.useRef<HTMLDivElement>(null);
  const [view, setView] = React.useState({ top: 0, height: 600 });
  const [rowHeight, setRowHeight] = React.useState(DEFAULT_ROW_HEIGHT);
  const selected = useSignalValue(runSelection.changed, () => runSelection.ids);
  const picked = React.useMemo(() => new Set(selected), [selected]);

  React.useEffect(() => {
    const node = wrap.current;
    if (!node || !virtual) {
      return;
    }
    let frame = 0;
    const measure = () => {
      frame = 0;
      setView(previous =>
        previous.top === node.scrollTop && previous.height === node.clientHeight
          ? previous
          : { top: node.scrollTop, height: node.clientHeight }
      );
    };
    const onScroll = () => {
      if (!frame) {
        frame = window.requestAnimationFrame(measure);
      }
    };
    measure();
    node.addEventListener('scroll', onScroll, { passive: true });
    const observer = new ResizeObserver(() => onScroll());
    observer.observe(node);
    return () => {
      node.removeEventListener('scroll', onScroll);
      observer.disconnect();
      window.cancelAnimationFrame(frame);
    };
  }, [virtual]);

  // Rows have one height in the windowed table (CSS); measure it once rendered.
  React.useLayoutEffect(() => {
    if (!virtual) {
      return;
    }
    const row = wrap.current?.querySelector<HTMLElement>('tr.lc-run-row');
    const measured = row?.getBoundingClientRect().height;
    if (measured && Math.abs(measured - rowHeight) > 0.5) {
      setRowHeight(measured);
    }
  });

  const { start, end } = virtual
    ? visibleRange(rows.length, rowHeight, view.top, view.height)
    : { start: 0, end: rows.length };
  const columns = 5 + metricKeys.length;

  // Load the next page before the user reaches the last loaded row.
  const nearEnd = props.truncated && end + NEAR_END >= rows.length;
  const { onNearEnd } = props;
  React.useEffect(() => {
    if (nearEnd && onNearEnd) {
      onNearEnd();
    }
  }, [nearEnd, onNearEnd, rows.length]);

  return (
    <div
      ref={wrap}
      className={`lc-table-wrap${virtual ? ' lc-virtual' : ''}`}
      data-total={rows.length}
      data-rendered={end - start}
    >
      <table className="lc-table lc-runs-table">
        <thead>
          <tr>
            <th className="lc-col-pick" aria-label="Select for comparison" />
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
          {start > 0 && (
            <tr
              className="lc-spacer-row"
              aria-hidden="true"
              style={{ height: `${start * rowHeight}px` }}
            >
              <td colSpan={columns} />
            </tr>
          )}
          {rows.slice(start, end).map(({ run, depth }) => {
            const open = () => props.onOpen(run);
            return (
              <tr
                key={run.id}
                className={`lc-run-row lc-run-${run.status}${picked.has(run.id) ? ' lc-picked' : ''}`}
                data-run-id={run.id}
                data-status={run.status}
                onClick={open}
                onKeyDown={event => activateOnKey(event, open)}
                tabIndex={0}
                title={`Open run ${runLabel(run)}`}
              >
                <td
                  className="lc-col-pick"
                  onClick={event => event.stopPropagation()}
                  onKeyDown={event => event.stopPropagation()}
                >
                  <input
                    type="checkbox"
                    className="lc-run-pick"
                    checked={picked.has(run.id)}
                    aria-label={`Select ${runLabel(run)} for comparison`}
                    onChange={() => runSelection.toggle(run.id)}
                  />
                </td>
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
          {end < rows.length && (
            <tr
              className="lc-spacer-row"
              aria-hidden="true"
              style={{ height: `${(rows.length - end) * rowHeight}px` }}
            >
              <td colSpan={columns} />
            </tr>
          )}
        </tbody>
      </table>
      {props.truncated && !props.onNearEnd && (
        <div className="lc-muted lc-table-note">
          Showing the {props.runs.length} most recent runs (Settings → LabCycle
          → Runs per experiment).
        </div>
      )}
      {props.truncated && props.onNearEnd && (
        <div className="lc-muted lc-table-note lc-loading-more">
          {props.runs.length} runs loaded; more load as you scroll.
        </div>
      )}
    </div>
  );
}
