/**
 * The analysis tabs of the hub: run comparison, lineage graph and model
 * version review, their commands and their layout restoration.
 */
import { ILayoutRestorer, JupyterFrontEnd } from '@jupyterlab/application';
import {
  MainAreaWidget,
  showErrorMessage,
  WidgetTracker
} from '@jupyterlab/apputils';
import { ISignal } from '@lumino/signaling';
import * as React from 'react';

import { LabCycleClient } from './client';
import { AnalysisClient } from './client_analysis';
import { CommandIDs } from './commands';
import { setCommandRegistry } from './commandBridge';
import { ComparisonView } from './components/ComparisonView';
import { LineageView } from './components/LineageView';
import { ModelVersionView } from './components/ModelVersionView';
import { pickSnapshot } from './components/RunDetail';
import { labcycleIcon } from './icons';
import { ILineageNode, IModelVersionDetail } from './models_analysis';
import { ISnapshotOptions, openSnapshot } from './snapshot';
import { useWidgetVisible, VisibleReactWidget } from './widgets';

/** Most runs the comparison takes (`GET compare/runs`). */
const MAX_RUNS = 50;

export interface IAnalysisOptions {
  client: LabCycleClient;
  refresh: ISignal<unknown, void>;
  openRun: (runId: string, label?: string) => Promise<void>;
  snapshotOptions: ISnapshotOptions;
  restorer: ILayoutRestorer | null;
}

interface IViewContext {
  api: AnalysisClient;
  client: LabCycleClient;
  refresh: ISignal<unknown, void>;
  openRun: (runId: string, label?: string) => void;
  openNode: (node: ILineageNode) => boolean;
  openNotebook: (runId: string, path?: string) => Promise<void>;
}

export class ComparisonWidget extends VisibleReactWidget {
  constructor(
    private _context: IViewContext,
    readonly runIds: string[]
  ) {
    super();
    this.addClass('lc-analysis-widget');
  }

  protected render(): JSX.Element {
    return (
      <ComparisonView
        api={this._context.api}
        runIds={this.runIds}
        refresh={this._context.refresh}
        onOpenRun={this._context.openRun}
      />
    );
  }
}

export class LineageWidget extends VisibleReactWidget {
  constructor(
    private _context: IViewContext,
    readonly entityType: string,
    readonly entityId: string
  ) {
    super();
    this.addClass('lc-analysis-widget');
  }

  protected render(): JSX.Element {
    return <LineageBody widget={this} context={this._context} />;
  }

  readonly onCentered = (root: ILineageNode | null): void => {
    if (root) {
      const label = root.title ?? root.entity_id.slice(0, 8);
      this.title.label = `Lineage: ${label}`;
      this.title.caption = `Lineage of ${root.type} ${label}\n${root.entity_id}`;
    }
  };
}

function LineageBody(props: {
  widget: LineageWidget;
  context: IViewContext;
}): JSX.Element {
  const visible = useWidgetVisible(props.widget);
  const { context, widget } = props;
  return (
    <LineageView
      api={context.api}
      type={widget.entityType}
      id={widget.entityId}
      visible={visible}
      refresh={context.refresh}
      onOpenNode={context.openNode}
      onCentered={widget.onCentered}
    />
  );
}

export class ModelVersionWidget extends VisibleReactWidget {
  constructor(
    private _context: IViewContext,
    readonly modelName: string,
    readonly version: number | string | null
  ) {
    super();
    this.addClass('lc-analysis-widget');
  }

  protected render(): JSX.Element {
    return <ModelVersionBody widget={this} context={this._context} />;
  }

  readonly onLoaded = (version: IModelVersionDetail): void => {
    this.title.label = `Model: ${version.model_name} v${version.version}`;
    this.title.caption = `LabCycle model version ${version.ref}\n${version.id}`;
  };
}

function ModelVersionBody(props: {
  widget: ModelVersionWidget;
  context: IViewContext;
}): JSX.Element {
  const visible = useWidgetVisible(props.widget);
  const { context, widget } = props;
  return (
    <ModelVersionView
      api={context.api}
      client={context.client}
      name={widget.modelName}
      version={widget.version}
      visible={visible}
      refresh={context.refresh}
      onOpenRun={context.openRun}
      onOpenNotebook={runId => context.openNotebook(runId)}
      onLoaded={widget.onLoaded}
    />
  );
}

/** `models/NAME/versions/V` → {name, version}. */
export function parseVersionHint(
  hint: string | null
): { name: string; version: string } | null {
  const match = /^models\/([^/]+)\/versions\/([^/]+)$/.exec(hint ?? '');
  return match
    ? {
        name: decodeURIComponent(match[1]),
        version: decodeURIComponent(match[2])
      }
    : null;
}

/** A version argument: `3`, `"3"` or `"v3"` → 3; null when absent. */
function versionArg(value: unknown): number | string | null {
  if (value === undefined || value === null || value === '') {
    return null;
  }
  const text = String(value).replace(/^v/i, '');
  return /^\d+$/.test(text) ? Number(text) : String(value);
}

function sameIds(a: string[], b: string[]): boolean {
  return a.length === b.length && [...a].sort().join() === [...b].sort().join();
}

/** Register the comparison, lineage and model version tabs and their commands. */
export function addAnalysisViews(
  app: JupyterFrontEnd,
  options: IAnalysisOptions
): void {
  const { commands, shell } = app;
  const { client, restorer } = options;
  setCommandRegistry(commands);
  const api = new AnalysisClient(client);

  const openNotebook = async (runId: string, path?: string): Promise<void> => {
    const [run, artifacts] = await Promise.all([
      client.getRun(runId),
      client.listArtifacts(runId)
    ]);
    const artifact =
      (path && artifacts.find(a => a.path === path)) ||
      artifacts.find(a => a.path === 'executed.ipynb') ||
      pickSnapshot(run, artifacts);
    if (!artifact) {
      throw new Error('This run has no notebook snapshot.');
    }
    await openSnapshot(options.snapshotOptions, run, artifact);
  };

  const openNode = (node: ILineageNode): boolean => {
    if (node.missing) {
      return false;
    }
    const fail = (error: unknown) =>
      void showErrorMessage(
        'LabCycle',
        error instanceof Error ? error.message : String(error)
      );
    switch (node.type) {
      case 'run':
        void options.openRun(node.entity_id, node.title ?? undefined);
        return true;
      case 'model_version': {
        const ref = parseVersionHint(node.url_hint);
        if (!ref) {
          return false;
        }
        void commands.execute(CommandIDs.openModelVersion, ref).catch(fail);
        return true;
      }
      case 'notebook': {
        const slash = node.entity_id.indexOf('/');
        if (slash < 0) {
          return false;
        }
        void openNotebook(
          node.entity_id.slice(0, slash),
          node.entity_id.slice(slash + 1)
        ).catch(fail);
        return true;
      }
      case 'project':
        if (commands.hasCommand(CommandIDs.openProject)) {
          void commands
            .execute(CommandIDs.openProject, { projectId: node.entity_id })
            .catch(fail);
          return true;
        }
        return false;
      default:
        return false;
    }
  };

  const context: IViewContext = {
    api,
    client,
    refresh: options.refresh,
    openRun: (runId, label) => void options.openRun(runId, label),
    openNode,
    openNotebook
  };

  const comparisons = new WidgetTracker<MainAreaWidget<ComparisonWidget>>({
    namespace: 'labcycle-comparison'
  });
  const lineages = new WidgetTracker<MainAreaWidget<LineageWidget>>({
    namespace: 'labcycle-lineage'
  });
  const versions = new WidgetTracker<MainAreaWidget<ModelVersionWidget>>({
    namespace: 'labcycle-model-version'
  });
  let serial = 0;

  const addTab = async <T extends VisibleReactWidget>(
    tracker: WidgetTracker<MainAreaWidget<T>>,
    content: T,
    label: string,
    className: string
  ) => {
    const widget = new MainAreaWidget({ content });
    widget.id = `labcycle-${className}-${Date.now()}-${serial++}`;
    widget.title.label = label;
    widget.title.icon = labcycleIcon;
    widget.title.closable = true;
    widget.addClass(`lc-${className}-tab`);
    await tracker.add(widget);
    shell.add(widget, 'main');
    shell.activateById(widget.id);
  };

  commands.addCommand(CommandIDs.openComparison, {
    label: args =>
      Array.isArray(args.runIds)
        ? `Compare ${args.runIds.length} LabCycle Runs`
        : 'Compare LabCycle Runs',
    describedBy: {
      args: {
        type: 'object',
        properties: {
          runIds: {
            type: 'array',
            items: { type: 'string' },
            description: '2 to 50 run ids'
          }
        },
        required: ['runIds']
      }
    },
    execute: async args => {
      const runIds = [
        ...new Set((Array.isArray(args.runIds) ? args.runIds : []).map(String))
      ];
      if (runIds.length < 2 || runIds.length > MAX_RUNS) {
        await showErrorMessage(
          'Compare runs',
          `Select 2 to ${MAX_RUNS} runs to compare (${runIds.length} given).`
        );
        return;
      }
      const existing = comparisons.find(w => sameIds(w.content.runIds, runIds));
      if (existing) {
        shell.activateById(existing.id);
        return;
      }
      await addTab(
        comparisons,
        new ComparisonWidget(context, runIds),
        `Compare ${runIds.length} runs`,
        'comparison'
      );
    }
  });

  commands.addCommand(CommandIDs.openLineage, {
    label: 'Open LabCycle Lineage',
    describedBy: {
      args: {
        type: 'object',
        properties: {
          type: { type: 'string', description: 'Entity type, e.g. run' },
          id: { type: 'string', description: 'Entity id' },
          title: { type: 'string' }
        },
        required: ['type', 'id']
      }
    },
    execute: async args => {
      const type = String(args.type ?? '');
      const id = String(args.id ?? '');
      if (!type || !id) {
        await showErrorMessage('Lineage', 'No entity given (type and id).');
        return;
      }
      const existing = lineages.find(
        w => w.content.entityType === type && w.content.entityId === id
      );
      if (existing) {
        shell.activateById(existing.id);
        return;
      }
      const title = (args.title as string | undefined) || id.slice(0, 8);
      await addTab(
        lineages,
        new LineageWidget(context, type, id),
        `Lineage: ${title}`,
        'lineage'
      );
    }
  });

  commands.addCommand(CommandIDs.openModelVersion, {
    label: args =>
      args.name
        ? `Open LabCycle Model ${args.name}${args.version ? ` v${String(args.version).replace(/^v/i, '')}` : ''}`
        : 'Open LabCycle Model Version',
    describedBy: {
      args: {
        type: 'object',
        properties: {
          name: { type: 'string', description: 'Registered model name' },
          version: {
            type: ['number', 'string'],
            description: '3 or "v3"; the latest version when absent'
          }
        },
        required: ['name']
      }
    },
    execute: async args => {
      const name = String(args.name ?? '');
      if (!name) {
        await showErrorMessage('Model version', 'No model name given.');
        return;
      }
      const version = versionArg(args.version);
      const existing = versions.find(
        w =>
          w.content.modelName === name &&
          String(w.content.version) === String(version)
      );
      if (existing) {
        shell.activateById(existing.id);
        return;
      }
      await addTab(
        versions,
        new ModelVersionWidget(context, name, version),
        `Model: ${name}${version === null ? '' : ` v${version}`}`,
        'model-version'
      );
    }
  });

  if (restorer) {
    void restorer.restore(comparisons, {
      command: CommandIDs.openComparison,
      args: w => ({ runIds: w.content.runIds }),
      name: w => w.content.runIds.join(',')
    });
    void restorer.restore(lineages, {
      command: CommandIDs.openLineage,
      args: w => ({ type: w.content.entityType, id: w.content.entityId }),
      name: w => `${w.content.entityType}:${w.content.entityId}`
    });
    void restorer.restore(versions, {
      command: CommandIDs.openModelVersion,
      args: w => ({
        name: w.content.modelName,
        version: w.content.version === null ? '' : String(w.content.version)
      }),
      name: w => `${w.content.modelName}/${w.content.version}`
    });
  }
}
