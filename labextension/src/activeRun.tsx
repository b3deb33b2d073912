import { ReactWidget } from '@jupyterlab/apputils';
import { DocumentRegistry, IDocumentWidget } from '@jupyterlab/docregistry';
import { IDisposable } from '@lumino/disposable';
import * as React from 'react';

import { LabCycleClient } from './client';
import { usePoll, useSignalValue } from './hooks';
import { IRun } from './models';
import { labcycleSettings } from './settings';

/** The toolbar polls at least this far apart (ms): it is one tab of many. */
export const ACTIVE_RUN_MIN_POLL_MS = 3000;

/** A `GET runs?filter=` string literal (quotes doubled). */
export function filterString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * The run a notebook's kernel is recording, found cheaply: the kernel's
 * `%lc start` / `lc.start_run` records the notebook path the Jupyter server
 * gave it (`JPY_SESSION_NAME`, made relative to the server root), so the
 * running run with that `notebook_path` is this notebook's run. One small
 * `GET runs` per visible notebook, every refresh interval (≥ 3 s).
 */
export async function findActiveRun(
  client: LabCycleClient,
  path: string
): Promise<IRun | null> {
  const list = await client.listRuns(
    {
      filter: `notebook_path = ${filterString(path)} and status = 'running'`,
      order_by: 'start_time DESC',
      max_results: 1
    },
    1
  );
  return list.items[0] ?? null;
}

function ActiveRunView(props: {
  client: LabCycleClient;
  panel: IDocumentWidget;
  onOpenRun: (runId: string, label?: string) => void;
}): JSX.Element | null {
  const { client, panel } = props;
  const settings = useSignalValue(
    labcycleSettings.changed,
    () => labcycleSettings.current
  );
  const [path, setPath] = React.useState(panel.context.path);

  React.useEffect(() => {
    const onPath = () => setPath(panel.context.path);
    panel.context.pathChanged.connect(onPath);
    return () => {
      panel.context.pathChanged.disconnect(onPath);
    };
  }, [panel]);

  const lastRef = React.useRef<IRun | null>(null);
  const fetchRun = React.useCallback(async (): Promise<IRun | null> => {
    // Nothing to find without a kernel; a hidden tab keeps what it showed.
    if (!panel.context.sessionContext?.session?.kernel) {
      return null;
    }
    if (!panel.isVisible) {
      return lastRef.current;
    }
    return findActiveRun(client, path);
  }, [client, panel, path]);
  const state = usePoll<IRun | null>(
    settings.showNotebookToolbarItem ? fetchRun : null,
    {
      interval: Math.max(
        settings.refreshInterval * 1000,
        ACTIVE_RUN_MIN_POLL_MS
      ),
      active: settings.showNotebookToolbarItem,
      key: `active-run:${path}`
    }
  );
  // The panel shows server problems; the toolbar keeps its last answer.
  const run = state.data ?? null;
  lastRef.current = run;
  const reload = state.reload;

  React.useEffect(() => {
    const onKernel = () => reload();
    panel.context.sessionContext?.kernelChanged.connect(onKernel);
    return () => {
      panel.context.sessionContext?.kernelChanged.disconnect(onKernel);
    };
  }, [panel, reload]);

  if (!run || !settings.showNotebookToolbarItem) {
    return null;
  }
  const name = run.name || run.id.slice(0, 8);
  return (
    <button
      className="lc-active-run"
      data-run-id={run.id}
      title={`LabCycle run ${name} is recording this notebook's cells (${run.id}). Open it.`}
      onClick={() => props.onOpenRun(run.id, run.name ?? undefined)}
    >
      <span className="lc-active-dot" aria-hidden="true" />
      <span className="lc-active-label">Run: {name}</span>
    </button>
  );
}

/** Adds the active-run item to every notebook's toolbar. */
export class ActiveRunExtension implements DocumentRegistry.IWidgetExtension<
  IDocumentWidget,
  any
> {
  constructor(
    private _client: LabCycleClient,
    private _onOpenRun: (runId: string, label?: string) => void
  ) {}

  createNew(panel: IDocumentWidget): IDisposable {
    const item = ReactWidget.create(
      <ActiveRunView
        client={this._client}
        panel={panel}
        onOpenRun={this._onOpenRun}
      />
    );
    item.addClass('lc-active-run-item');
    if (!panel.toolbar.insertAfter('cellType', 'labcycle-active-run', item)) {
      panel.toolbar.addItem('labcycle-active-run', item);
    }
    return item;
  }
}
