import { ISignal } from '@lumino/signaling';
import * as React from 'react';

import { IListResult, LabCycleClient } from '../client';
import { useNow, usePoll, useSignalValue, useToggleSet } from '../hooks';
import { IExperiment, IProject, IRun } from '../models';
import { MAX_COMPARE, runSelection } from '../selection';
import { labcycleSettings } from '../settings';
import { groupProjects, ProjectTree } from './ProjectTree';
import { RunsTable } from './RunsTable';
import { EmptyState, ErrorState, Loading, StaleBanner } from './States';

/** How often projects and experiments are polled (ms). */
export const TREE_POLL_MS = 5000;

export interface IBrowserProps {
  client: LabCycleClient;
  visible: boolean;
  refresh: ISignal<unknown, void>;
  onOpenRun: (run: IRun) => void;
}

/** Runs loaded per scroll past the end of the loaded ones. */
const MORE_PAGE = 1000;

interface IMoreRuns {
  experimentId: string | null;
  items: IRun[];
  /** Where the next page starts; null once every run is loaded. */
  token: string | null;
}

const NO_MORE: IMoreRuns = { experimentId: null, items: [], token: null };

/**
 * The polled first page followed by the runs loaded on scroll; a run that moved
 * into the first page since (new runs shift the pages) is shown once.
 */
function withMore(
  first: IListResult<IRun> | undefined,
  more: IMoreRuns,
  experimentId: string | null
): IListResult<IRun> | undefined {
  if (!first || more.experimentId !== experimentId || !more.items.length) {
    return first;
  }
  const ids = new Set(first.items.map(run => run.id));
  return {
    items: first.items.concat(more.items.filter(run => !ids.has(run.id))),
    truncated: more.token !== null,
    nextPageToken: more.token
  };
}

interface ITree {
  projects: IProject[];
  experiments: IExperiment[];
}

/** The newest experiment by last run, else by creation. */
function latestExperiment(experiments: IExperiment[]): IExperiment | null {
  let best: IExperiment | null = null;
  const when = (e: IExperiment) =>
    Date.parse(e.last_run_at ?? e.created_at) || 0;
  for (const experiment of experiments) {
    if (!best || when(experiment) > when(best)) {
      best = experiment;
    }
  }
  return best;
}

/** Projects → experiments on top, the selected experiment's runs below. */
export function Browser(props: IBrowserProps): JSX.Element {
  const { client, visible, refresh } = props;
  const settings = useSignalValue(
    labcycleSettings.changed,
    () => labcycleSettings.current
  );
  const picked = useSignalValue(runSelection.changed, () => runSelection.ids);
  const [selectedId, setSelectedId] = React.useState<string | null>(null);
  const [collapsed, toggle] = useToggleSet<string>();

  const fetchTree = React.useCallback(async (): Promise<ITree> => {
    const [projects, experiments] = await Promise.all([
      client.listProjects(),
      client.listExperiments()
    ]);
    return { projects: projects.items, experiments: experiments.items };
  }, [client]);
  const tree = usePoll<ITree>(fetchTree, {
    interval: Math.max(TREE_POLL_MS, settings.refreshInterval * 1000),
    active: visible,
    key: 'tree',
    refresh
  });

  const experiments = tree.data?.experiments ?? [];
  const selected = experiments.find(e => e.id === selectedId) ?? null;

  // Select the most recently active experiment until the user picks one,
  // and again if the selected one disappears.
  React.useEffect(() => {
    if (tree.data && !selected) {
      const latest = latestExperiment(tree.data.experiments);
      setSelectedId(latest ? latest.id : null);
    }
  }, [tree.data, selected]);

  const fetchRuns = React.useMemo(
    () =>
      selectedId
        ? (): Promise<IListResult<IRun>> =>
            client.listRuns({ experiment_id: [selectedId] }, settings.pageSize)
        : null,
    [client, selectedId, settings.pageSize]
  );
  const runs = usePoll<IListResult<IRun>>(fetchRuns, {
    interval: settings.refreshInterval * 1000,
    active: visible && selectedId !== null,
    key: `runs:${selectedId}:${settings.pageSize}`,
    refresh
  });
  // Runs past the polled first page, loaded a page at a time as the table is
  // scrolled to its end (and not polled: older runs rarely change).
  const [more, setMore] = React.useState<IMoreRuns>(NO_MORE);
  const loadingMore = React.useRef(false);
  React.useEffect(() => {
    setMore(NO_MORE);
  }, [selectedId, settings.pageSize]);
  const token =
    more.experimentId === selectedId && more.items.length
      ? more.token
      : (runs.data?.nextPageToken ?? null);
  const loadMore = React.useCallback(async () => {
    if (!selectedId || !token || loadingMore.current) {
      return;
    }
    loadingMore.current = true;
    try {
      const page = await client.listMoreRuns(
        { experiment_id: [selectedId] },
        token,
        MORE_PAGE
      );
      setMore(previous => ({
        experimentId: selectedId,
        items: [
          ...(previous.experimentId === selectedId ? previous.items : []),
          ...page.items
        ],
        token: page.nextPageToken ?? null
      }));
    } catch (reason) {
      console.warn('LabCycle: cannot load more runs', reason);
    } finally {
      loadingMore.current = false;
    }
  }, [client, selectedId, token]);
  const shown = React.useMemo(
    () => withMore(runs.data, more, selectedId),
    [runs.data, more, selectedId]
  );
  const anyRunning = (runs.data?.items ?? []).some(r => r.status === 'running');
  // Ages and running durations tick; fast only while something runs.
  const now = useNow(anyRunning ? 1000 : 30000, visible);

  const groups = React.useMemo(
    () => groupProjects(tree.data?.projects ?? [], experiments),
    [tree.data]
  );

  if (!tree.data) {
    return tree.error ? (
      <ErrorState
        title="Cannot load projects"
        error={tree.error}
        onRetry={tree.reload}
      />
    ) : (
      <Loading label="Loading projects…" />
    );
  }
  if (groups.length === 0) {
    return <EmptyState title="No projects yet" />;
  }

  return (
    <div className="lc-browser">
      {tree.error && <StaleBanner error={tree.error} onRetry={tree.reload} />}
      <section className="lc-section lc-projects" aria-label="Projects">
        <div className="lc-section-title">Projects</div>
        <ProjectTree
          groups={groups}
          selectedExperimentId={selectedId}
          collapsed={collapsed}
          onToggleProject={toggle}
          onSelectExperiment={experiment => setSelectedId(experiment.id)}
        />
      </section>
      <section className="lc-section lc-runs" aria-label="Runs">
        <div className="lc-section-title">
          <span className="lc-section-name">
            {selected
              ? `Runs · ${selected.project_name} / ${selected.name}`
              : 'Runs'}
          </span>
          {anyRunning && (
            <span
              className="lc-live"
              title={`Refreshed every ${settings.refreshInterval} s`}
            >
              live
            </span>
          )}
          {picked.length > 0 && (
            <span className="lc-compare-bar">
              <button
                className="lc-link-button lc-compare-selected"
                disabled={picked.length < 2 || picked.length > MAX_COMPARE}
                title={`Compare the selected runs (2 to ${MAX_COMPARE})`}
                onClick={() => runSelection.requestCompare()}
              >
                Compare {picked.length}
              </button>
              <button
                className="lc-link-button lc-clear-selection"
                title="Clear the selection"
                onClick={() => runSelection.clear()}
              >
                ✕
              </button>
            </span>
          )}
        </div>
        <RunsSection
          hasSelection={selected !== null}
          hasExperiments={experiments.length > 0}
          runs={shown}
          error={runs.error}
          now={now}
          onRetry={runs.reload}
          onOpenRun={props.onOpenRun}
          onLoadMore={token ? loadMore : undefined}
        />
      </section>
    </div>
  );
}

function RunsSection(props: {
  hasSelection: boolean;
  hasExperiments: boolean;
  runs: IListResult<IRun> | undefined;
  error: Error | undefined;
  now: number;
  onRetry: () => void;
  onOpenRun: (run: IRun) => void;
  onLoadMore?: () => void;
}): JSX.Element {
  if (!props.hasExperiments) {
    return <EmptyState title="No experiments yet" />;
  }
  if (!props.hasSelection) {
    return <div className="lc-hint">Select an experiment to see its runs.</div>;
  }
  if (!props.runs) {
    return props.error ? (
      <ErrorState
        title="Cannot load runs"
        error={props.error}
        onRetry={props.onRetry}
      />
    ) : (
      <Loading label="Loading runs…" />
    );
  }
  return (
    <>
      {props.error && (
        <StaleBanner error={props.error} onRetry={props.onRetry} />
      )}
      {props.runs.items.length === 0 ? (
        <EmptyState title="No runs in this experiment yet" />
      ) : (
        <RunsTable
          runs={props.runs.items}
          truncated={props.runs.truncated}
          now={props.now}
          onOpen={props.onOpenRun}
          onNearEnd={props.onLoadMore}
        />
      )}
    </>
  );
}
