import { ISignal } from '@lumino/signaling';
import * as React from 'react';

import { AnalysisClient } from '../client_analysis';
import { formatDuration, formatMetric } from '../format';
import { usePoll } from '../hooks';
import { IMetricPoint, MetricValue } from '../models';
import {
  ICompareTable,
  IParallel,
  IRunBrief,
  IRunComparison,
  ISeries
} from '../models_analysis';
import {
  AnalysisSection,
  formatValue,
  runColor,
  runDashed,
  RunSwatch
} from './AnalysisCommon';
import { IChartSeries, MultiMetricChart } from './MetricChart';
import { NotebookDiff } from './NotebookDiff';
import { ParallelCoordinates } from './ParallelCoordinates';
import { StatusBadge } from './StatusBadge';
import { ErrorState, Loading, RefreshButton, errorMessage } from './States';

export interface IComparisonViewProps {
  api: AnalysisClient;
  runIds: string[];
  refresh: ISignal<unknown, void>;
  onOpenRun: (runId: string, label?: string) => void;
  onLoaded?: (comparison: IRunComparison) => void;
}

/** The label of each run: its name, made unique with its short id if needed. */
export function runLabels(runs: IRunBrief[]): Record<string, string> {
  const counts = new Map<string, number>();
  runs.forEach(r => counts.set(r.name, (counts.get(r.name) ?? 0) + 1));
  const labels: Record<string, string> = {};
  for (const r of runs) {
    const name = r.name || r.id.slice(0, 8);
    labels[r.id] =
      r.name && (counts.get(r.name) ?? 0) > 1
        ? `${name} (${r.id.slice(0, 6)})`
        : name;
  }
  return labels;
}

/** A series of the comparison as points for the chart. */
function toPoints(series: ISeries): IMetricPoint[] {
  return series.steps.map((step, i) => ({
    step,
    value: series.values[i],
    timestamp: i,
    server_time: 0
  }));
}

/**
 * A table of one aspect (params, metrics, attributes, tags): one column per
 * run, rows that differ first and highlighted, constant rows folded.
 */
function CompareTableView(props: {
  table: ICompareTable;
  runs: IRunBrief[];
  labels: Record<string, string>;
  noun: string;
  className: string;
  format?: (value: unknown) => string;
}): JSX.Element {
  const { table, runs } = props;
  const [showConstant, setShowConstant] = React.useState(false);
  const format = props.format ?? formatValue;
  if (table.rows.length === 0) {
    return <div className="lc-muted">No {props.noun}s.</div>;
  }
  const differing = table.rows.filter(r => r.differs);
  const constant = table.rows.filter(r => !r.differs);
  const rows = showConstant ? [...differing, ...constant] : differing;
  return (
    <div className={`lc-table-wrap lc-compare-wrap ${props.className}`}>
      <table className="lc-table lc-compare-table">
        <thead>
          <tr>
            <th className="lc-capitalize">{props.noun}</th>
            {runs.map((run, i) => (
              <th key={run.id} title={run.id} className="lc-run-col">
                <RunSwatch index={i} />
                {props.labels[run.id]}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map(row => (
            <tr
              key={row.key}
              className={row.differs ? 'lc-differs' : 'lc-constant'}
              data-key={row.key}
              data-differs={row.differs}
            >
              <td className="lc-key" title={row.key}>
                {row.key}
              </td>
              {runs.map(run => {
                const value = row.values[run.id];
                return (
                  <td
                    key={run.id}
                    className={
                      'lc-value' +
                      (value === null || value === undefined
                        ? ' lc-empty-cell'
                        : '')
                    }
                  >
                    {format(value)}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      {differing.length === 0 && (
        <div className="lc-muted lc-table-note">
          No {props.noun} differs between these runs.
        </div>
      )}
      {constant.length > 0 && (
        <button
          className="lc-link-button lc-toggle-constant"
          onClick={() => setShowConstant(!showConstant)}
        >
          {showConstant
            ? `Hide the ${constant.length} identical ${props.noun}${constant.length > 1 ? 's' : ''}`
            : `Show ${constant.length} ${props.noun}${constant.length > 1 ? 's' : ''} identical in every run`}
        </button>
      )}
    </div>
  );
}

/** The comparison of 2–50 runs, in a main-area tab. */
export function ComparisonView(props: IComparisonViewProps): JSX.Element {
  const { api, runIds, onLoaded } = props;
  const fetchAll = React.useCallback(
    () => api.compareRuns(runIds, { maxPoints: 400 }),
    [api, runIds]
  );
  const state = usePoll<IRunComparison>(fetchAll, {
    interval: 60000,
    active: true,
    key: `compare:${runIds.join(',')}`,
    refresh: props.refresh,
    done: () => true
  });
  // The parallel plot for another metric (fetched without the histories).
  const [parallel, setParallel] = React.useState<IParallel | null>(null);
  const [parallelBusy, setParallelBusy] = React.useState(false);
  const [parallelError, setParallelError] = React.useState<string | null>(null);
  React.useEffect(() => {
    if (state.data && onLoaded) {
      onLoaded(state.data);
    }
  }, [state.data]);

  if (!state.data) {
    return (
      <div className="lc-analysis lc-comparison lc-loading-view">
        {state.error ? (
          <ErrorState
            title="Cannot compare these runs"
            error={state.error}
            onRetry={state.reload}
          />
        ) : (
          <Loading label={`Comparing ${runIds.length} runs…`} />
        )}
      </div>
    );
  }
  const data = state.data;
  const runs = data.runs;
  const labels = runLabels(runs);
  const shownParallel = parallel ?? data.parallel;
  const chooseMetric = async (metric: string) => {
    setParallelBusy(true);
    setParallelError(null);
    try {
      const fresh = await api.compareRuns(runIds, { metric, maxPoints: 2 });
      setParallel(fresh.parallel);
    } catch (reason) {
      setParallelError(errorMessage(reason));
    } finally {
      setParallelBusy(false);
    }
  };
  // Curves of the keys logged over steps (a single value is in the table).
  const historyKeys = Object.keys(data.histories)
    .filter(key =>
      Object.values(data.histories[key]).some(s => s.steps.length > 1)
    )
    .sort((a, b) => a.localeCompare(b));
  const seriesOf = (key: string): IChartSeries[] =>
    runs
      .map((run, i) => ({ run, i, series: data.histories[key]?.[run.id] }))
      .filter(({ series }) => series !== undefined)
      .map(({ run, i, series }) => ({
        id: run.id,
        label: labels[run.id],
        color: runColor(i),
        dashed: runDashed(i),
        history: toPoints(series!)
      }));

  return (
    <div className="lc-analysis lc-comparison" data-runs={runs.length}>
      {state.error && (
        <div className="lc-banner lc-banner-error" role="alert">
          <span className="lc-banner-text">
            Could not refresh: {errorMessage(state.error)}
          </span>
        </div>
      )}
      <header className="lc-analysis-header">
        <div className="lc-run-title-row">
          <h2 className="lc-run-title">Comparing {runs.length} runs</h2>
          <span className="lc-muted">
            {data.params.differing.length} differing param
            {data.params.differing.length === 1 ? '' : 's'} ·{' '}
            {data.metrics.keys.length} metric
            {data.metrics.keys.length === 1 ? '' : 's'}
          </span>
          <span className="lc-spacer" />
          <RefreshButton onClick={state.reload} />
        </div>
        <ul className="lc-compare-runs">
          {runs.map((run, i) => (
            <li key={run.id} data-run-id={run.id}>
              <RunSwatch index={i} />
              <button
                className="lc-link-button lc-open-run"
                title={`Open run ${run.id}`}
                onClick={() => props.onOpenRun(run.id, labels[run.id])}
              >
                {labels[run.id]}
              </button>
              <StatusBadge status={run.status} />
              <span className="lc-muted">
                {run.project} / {run.experiment} ·{' '}
                {formatDuration(run.duration_s)}
              </span>
            </li>
          ))}
        </ul>
      </header>
      <AnalysisSection
        id="params"
        title="Params"
        count={`${data.params.differing.length} of ${data.params.keys.length} differ`}
      >
        <CompareTableView
          table={data.params}
          runs={runs}
          labels={labels}
          noun="param"
          className="lc-compare-params"
        />
      </AnalysisSection>
      <AnalysisSection
        id="metrics"
        title="Metrics"
        count={data.metrics.keys.length}
      >
        <CompareTableView
          table={data.metrics}
          runs={runs}
          labels={labels}
          noun="metric"
          className="lc-compare-metrics"
          format={value =>
            formatMetric(value as MetricValue | null | undefined)
          }
        />
      </AnalysisSection>
      <AnalysisSection
        id="curves"
        title="Metric curves"
        count={historyKeys.length}
      >
        {historyKeys.length === 0 ? (
          <div className="lc-muted">No metric histories.</div>
        ) : (
          <div className="lc-compare-charts">
            {historyKeys.map(key => (
              <div className="lc-metric-card" key={key} data-metric={key}>
                <div className="lc-metric-head">
                  <span className="lc-metric-key">{key}</span>
                </div>
                <MultiMetricChart metricKey={key} series={seriesOf(key)} />
              </div>
            ))}
            {data.history_keys_truncated && (
              <div className="lc-muted">
                Only the first 50 metric keys are drawn.
              </div>
            )}
          </div>
        )}
      </AnalysisSection>
      <AnalysisSection
        id="parallel"
        title="Parallel coordinates"
        count={`${shownParallel.dimensions.length} param${shownParallel.dimensions.length === 1 ? '' : 's'}`}
      >
        {parallelError && (
          <div className="lc-banner lc-banner-error" role="alert">
            <span className="lc-banner-text">{parallelError}</span>
          </div>
        )}
        <ParallelCoordinates
          parallel={shownParallel}
          labels={labels}
          metricKeys={data.metrics.keys}
          onMetric={key => void chooseMetric(key)}
          busy={parallelBusy}
        />
      </AnalysisSection>
      <AnalysisSection
        id="attributes"
        title="Attributes, tags and packages"
        count={`${data.attributes.differing.length + data.tags.differing.length + data.packages.differing.length} differ`}
        closed={false}
      >
        <CompareTableView
          table={data.attributes}
          runs={runs}
          labels={labels}
          noun="attribute"
          className="lc-compare-attributes"
        />
        {data.tags.rows.length > 0 && (
          <CompareTableView
            table={data.tags}
            runs={runs}
            labels={labels}
            noun="tag"
            className="lc-compare-tags"
          />
        )}
        <div className="lc-compare-packages">
          {data.packages.differing.length === 0 ? (
            <div className="lc-muted">
              Same package versions in every run ({data.packages.same}{' '}
              packages).
            </div>
          ) : (
            <CompareTableView
              table={{
                keys: data.packages.differing.map(p => p.name),
                rows: data.packages.differing.map(p => ({
                  key: p.name,
                  values: p.values,
                  differs: true
                })),
                differing: data.packages.differing.map(p => p.name),
                constant: []
              }}
              runs={runs}
              labels={labels}
              noun="package"
              className="lc-compare-package-table"
            />
          )}
          {data.packages.differing.length > 0 && (
            <div className="lc-muted lc-table-note">
              {data.packages.same} other packages have the same version in every
              run.
            </div>
          )}
        </div>
      </AnalysisSection>
      <AnalysisSection id="notebook" title="Notebook diff">
        <NotebookDiff api={api} runs={runs} labels={labels} />
      </AnalysisSection>
    </div>
  );
}
