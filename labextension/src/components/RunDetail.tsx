import { ISignal } from '@lumino/signaling';
import * as React from 'react';

import { LabCycleClient } from '../client';
import { HubClient } from '../client_hub';
import { useNow, usePoll } from '../hooks';
import { stringRecord } from '../format';
import {
  IArtifact,
  ICellExecution,
  IMetricHistory,
  IRunDetail
} from '../models';
import { ArtifactsList, isNotebook } from './ArtifactsList';
import { CellHistory } from './CellHistory';
import { sharedSanitizer } from './HubText';
import { MetricsSection } from './MetricsSection';
import { NotesPanel } from './NotesPanel';
import { ParamsTable } from './ParamsTable';
import { RunHeader } from './RunHeader';
import { ErrorState, Loading, StaleBanner, errorMessage } from './States';

/** How often a running run is refreshed (ms). */
export const RUN_POLL_MS = 2000;

export interface IRunDetailProps {
  client: LabCycleClient;
  runId: string;
  visible: boolean;
  refresh: ISignal<unknown, void>;
  /** Save a notebook artifact into the workspace and open it. */
  onOpenNotebook: (run: IRunDetail, artifact: IArtifact) => Promise<void>;
  /** Re-execute the run's snapshot as a new job (the Reproduce button). */
  onReproduce?: (run: IRunDetail) => Promise<void>;
  /** Called with the run once loaded (e.g. to title the tab). */
  onLoaded?: (run: IRunDetail) => void;
}

/** Everything the detail view shows; a section that failed holds its Error. */
interface IRunData {
  run: IRunDetail;
  artifacts: IArtifact[] | Error;
  cells: ICellExecution[] | Error;
  histories: Record<string, IMetricHistory | Error>;
  metricKeys: string[];
}

function settle<T>(promise: Promise<T>): Promise<T | Error> {
  return promise.catch(reason =>
    reason instanceof Error ? reason : new Error(String(reason))
  );
}

/** The notebook artifact to offer as "the" snapshot of a run. */
export function pickSnapshot(
  run: IRunDetail,
  artifacts: IArtifact[]
): IArtifact | null {
  const notebooks = artifacts.filter(isNotebook);
  const base = run.notebook_path?.split('/').pop();
  return (
    notebooks.find(a => base && a.path.split('/').pop() === base) ??
    notebooks[0] ??
    null
  );
}

/** The detail of one run; refreshed every 2 s while the run is running. */
export function RunDetail(props: IRunDetailProps): JSX.Element {
  const { client, runId, onLoaded } = props;
  const fetchAll = React.useCallback(async (): Promise<IRunData> => {
    const run = await client.getRun(runId);
    const metricKeys = [
      ...new Set([
        ...(run.metric_keys ?? []),
        ...Object.keys(run.metrics ?? {})
      ])
    ].sort((a, b) => a.localeCompare(b));
    const [artifacts, cells, histories] = await Promise.all([
      settle(client.listArtifacts(runId)),
      settle(client.listCells(runId)),
      Promise.all(
        metricKeys.map(key => settle(client.getMetricHistory(runId, key)))
      )
    ]);
    const byKey: Record<string, IMetricHistory | Error> = {};
    metricKeys.forEach((key, i) => (byKey[key] = histories[i]));
    return { run, artifacts, cells, histories: byKey, metricKeys };
  }, [client, runId]);

  const state = usePoll<IRunData>(fetchAll, {
    interval: RUN_POLL_MS,
    active: props.visible,
    key: `run:${runId}`,
    refresh: props.refresh,
    done: data => (data as IRunData).run.status !== 'running'
  });
  const running = state.data?.run.status === 'running';
  const now = useNow(1000, props.visible && running);
  const [snapshotBusy, setSnapshotBusy] = React.useState(false);
  const [snapshotError, setSnapshotError] = React.useState<string | null>(null);
  const hub = React.useMemo(() => new HubClient(client), [client]);
  const [noteCount, setNoteCount] = React.useState<number | undefined>();

  React.useEffect(() => {
    if (state.data && onLoaded) {
      onLoaded(state.data.run);
    }
  }, [state.data?.run.name, state.data?.run.status]);

  if (!state.data) {
    return (
      <div className="lc-run-detail lc-run-detail-loading">
        {state.error ? (
          <ErrorState
            title="Cannot load this run"
            error={state.error}
            onRetry={state.reload}
          />
        ) : (
          <Loading label="Loading run…" />
        )}
      </div>
    );
  }

  const { run, artifacts, cells, histories, metricKeys } = state.data;
  const snapshot =
    artifacts instanceof Error ? null : pickSnapshot(run, artifacts);
  const openNotebook = async (artifact: IArtifact) => {
    setSnapshotBusy(true);
    setSnapshotError(null);
    try {
      await props.onOpenNotebook(run, artifact);
    } catch (reason) {
      setSnapshotError(`Cannot open ${artifact.path}: ${errorMessage(reason)}`);
    } finally {
      setSnapshotBusy(false);
    }
  };

  return (
    <div
      className="lc-run-detail"
      data-run-id={run.id}
      data-status={run.status}
    >
      {state.error && (
        <StaleBanner error={state.error} onRetry={state.reload} />
      )}
      {snapshotError && (
        <div className="lc-banner lc-banner-error" role="alert">
          <span className="lc-banner-text">{snapshotError}</span>
          <button
            className="lc-link-button"
            onClick={() => setSnapshotError(null)}
          >
            Dismiss
          </button>
        </div>
      )}
      <RunHeader
        run={run}
        now={now}
        snapshotName={snapshot ? snapshot.path : null}
        snapshotBusy={snapshotBusy}
        onOpenSnapshot={() => snapshot && void openNotebook(snapshot)}
        onRefresh={state.reload}
        onReproduce={
          props.onReproduce && !running
            ? () => props.onReproduce!(run)
            : undefined
        }
      />
      <Section title="Metrics" count={metricKeys.length}>
        <MetricsSection
          latest={run.metrics ?? {}}
          keys={metricKeys}
          histories={histories}
        />
      </Section>
      <Section title="Params" count={Object.keys(run.params ?? {}).length}>
        <ParamsTable params={run.params ?? {}} />
      </Section>
      <Section
        title="Artifacts"
        count={artifacts instanceof Error ? undefined : artifacts.length}
      >
        {artifacts instanceof Error ? (
          <ErrorState
            title="Cannot list artifacts"
            error={artifacts}
            onRetry={state.reload}
          />
        ) : (
          <ArtifactsList
            artifacts={artifacts}
            urlFor={artifact => client.artifactUrl(run.id, artifact.path)}
            onOpenNotebook={artifact => void openNotebook(artifact)}
          />
        )}
      </Section>
      <Section
        title="Cell executions"
        count={cells instanceof Error ? undefined : cells.length}
      >
        {cells instanceof Error ? (
          <ErrorState
            title="Cannot list cell executions"
            error={cells}
            onRetry={state.reload}
          />
        ) : (
          <CellHistory cells={cells} />
        )}
      </Section>
      {(run.datasets ?? []).length > 0 && (
        <Section title="Datasets" count={run.datasets.length}>
          <table className="lc-table lc-datasets">
            <thead>
              <tr>
                <th>Dataset</th>
                <th>Context</th>
                <th className="lc-num">Rows</th>
                <th>Digest</th>
              </tr>
            </thead>
            <tbody>
              {run.datasets.map(({ dataset, context }) => (
                <tr key={`${dataset.id}:${context ?? ''}`}>
                  <td className="lc-key" title={dataset.source ?? undefined}>
                    {dataset.name}
                  </td>
                  <td>{context ?? '—'}</td>
                  <td className="lc-num">{dataset.row_count ?? '—'}</td>
                  <td className="lc-muted">
                    <code title={dataset.digest}>
                      {dataset.digest.slice(0, 19)}
                    </code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
      )}
      {Object.keys(run.packages ?? {}).length > 0 && (
        <Section
          title="Packages"
          count={Object.keys(run.packages ?? {}).length}
          closed
        >
          <ParamsTable
            params={stringRecord(run.packages)}
            className="lc-packages"
            noun="package"
          />
        </Section>
      )}
      <Section title="Notes" count={noteCount}>
        <NotesPanel
          hub={hub}
          entity={{ type: 'run', id: run.id }}
          active={props.visible}
          refresh={props.refresh}
          sanitize={sharedSanitizer.current}
          onCount={setNoteCount}
        />
      </Section>
    </div>
  );
}

/** A titled, collapsible part of the detail view. */
function Section(props: {
  title: string;
  count?: number;
  closed?: boolean;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <details className="lc-detail-section" open={!props.closed}>
      <summary>
        <span className="lc-detail-section-title">{props.title}</span>
        {props.count !== undefined && (
          <span className="lc-count">{props.count}</span>
        )}
      </summary>
      <div className="lc-detail-section-body">{props.children}</div>
    </details>
  );
}
