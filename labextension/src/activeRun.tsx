import { ReactWidget } from '@jupyterlab/apputils';
import { DocumentRegistry, IDocumentWidget } from '@jupyterlab/docregistry';
import { IDisposable } from '@lumino/disposable';
import * as React from 'react';

import { LabCycleClient } from './client';
import { useSignalValue } from './hooks';
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
  const [run, setRun] = React.useState<IRun | null>(null);
  const [path, setPath] = React.useState(panel.context.path);

  React.useEffect(() => {
    const onPath = () => setPath(panel.context.path);
    panel.context.pathChanged.connect(onPath);
    return () => {
      panel.context.pathChanged.disconnect(onPath);
    };
  }, [panel]);

  React.useEffect(() => {
    if (!settings.showNotebookToolbarItem) {
      setRun(null);
      return;
    }
    let cancelled = false;
    let timer: number | undefined;
    const interval = Math.max(
      settings.refreshInterval * 1000,
      ACTIVE_RUN_MIN_POLL_MS
    );
    const step = async () => {
      // Nothing to find without a kernel, nor while the tab is hidden.
      const hasKernel = Boolean(panel.context.sessionContext?.session?.kernel);
      if (hasKernel && panel.isVisible && !document.hidden) {
        try {
          const found = await findActiveRun(client, path);
          if (!cancelled) {
            setRun(found);
          }
        } catch {
          // The panel shows server problems; the toolbar stays quiet.
        }
      } else if (!hasKernel && !cancelled) {
        setRun(null);
      }
      if (!cancelled) {
        timer = window.setTimeout(() => void step(), interval);
      }
    };
    void step();
    const onKernel = () => {
      window.clearTimeout(timer);
      void step();
    };
    panel.context.sessionContext?.kernelChanged.connect(onKernel);
    return () => {
      cancelled = true;
      window.clearTimeout(timer);
      panel.context.sessionContext?.kernelChanged.disconnect(onKernel);
    };
  }, [client, panel, path, settings]);

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
