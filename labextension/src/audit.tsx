/**
 * The audit log tab: `labcycle:open-audit`, its palette entry and its layout
 * restoration (with the filters it had).
 */
import { ILayoutRestorer, JupyterFrontEnd } from '@jupyterlab/application';
import {
  ICommandPalette,
  MainAreaWidget,
  showErrorMessage,
  WidgetTracker
} from '@jupyterlab/apputils';
import { ISignal, Signal } from '@lumino/signaling';
import * as React from 'react';

import { HubClient } from './client_hub';
import { CommandIDs } from './commands';
import {
  auditFiltersFrom,
  AuditView,
  IAuditFilters
} from './components/AuditView';
import { labcycleIcon } from './icons';
import { IAuditEvent } from './models_hub';
import { useWidgetVisible, VisibleReactWidget } from './widgets';

export interface IAuditOptions {
  hub: HubClient;
  refresh: ISignal<unknown, void>;
  palette: ICommandPalette | null;
  restorer: ILayoutRestorer | null;
  openRun: (runId: string, label?: string) => Promise<void>;
  openProject: (idOrName: string) => Promise<void>;
}

interface IAuditWidgetOptions {
  hub: HubClient;
  refresh: ISignal<unknown, void>;
  canOpen: (event: IAuditEvent) => boolean;
  onOpenEntity: (event: IAuditEvent) => void;
}

/** The audit log in a main-area tab; it keeps its filters for a reload. */
export class AuditWidget extends VisibleReactWidget {
  constructor(
    private _options: IAuditWidgetOptions,
    filters: IAuditFilters,
    /** Names the tab in the saved layout (kept across reloads). */
    readonly key: string
  ) {
    super();
    this.addClass('lc-audit-widget');
    this.title.icon = labcycleIcon;
    this._filters = filters;
    this.onFiltersChanged(filters);
  }

  /** The filters on screen (applied). */
  get filters(): IAuditFilters {
    return this._filters;
  }

  /** Show other filters (the command opened the tab again). */
  setFilters(filters: IAuditFilters): void {
    this._filters = filters;
    this._filtersKey += 1;
    this.update();
  }

  get filtersKey(): number {
    return this._filtersKey;
  }

  /** Emitted when the applied filters change (to save them for a reload). */
  get filtersChanged(): ISignal<this, void> {
    return this._filtersChanged;
  }

  readonly onFiltersChanged = (filters: IAuditFilters): void => {
    const changed = JSON.stringify(filters) !== JSON.stringify(this._filters);
    this._filters = filters;
    if (changed) {
      this._filtersChanged.emit();
    }
    const scope = filters.project ? ` · ${filters.project}` : '';
    this.title.label = `Audit log${scope}`;
    this.title.caption = `LabCycle audit log${scope}`;
  };

  protected render(): JSX.Element {
    return <AuditTab widget={this} options={this._options} />;
  }

  private _filters: IAuditFilters;
  private _filtersKey = 0;
  private _filtersChanged = new Signal<this, void>(this);
}

function AuditTab(props: {
  widget: AuditWidget;
  options: IAuditWidgetOptions;
}): JSX.Element {
  const visible = useWidgetVisible(props.widget);
  const { widget, options } = props;
  return (
    <AuditView
      hub={options.hub}
      filters={widget.filters}
      filtersKey={widget.filtersKey}
      visible={visible}
      refresh={options.refresh}
      onFiltersChanged={widget.onFiltersChanged}
      canOpen={options.canOpen}
      onOpenEntity={options.onOpenEntity}
    />
  );
}

/** The model name and version an event's details name, if any. */
function versionRef(
  event: IAuditEvent
): { name: string; version?: number | string } | null {
  const d = event.details ?? {};
  const name =
    typeof d.model === 'string'
      ? d.model
      : event.entity_type === 'model' && typeof d.name === 'string'
        ? d.name
        : null;
  if (!name) {
    return null;
  }
  const version = d.version;
  return event.entity_type === 'model_version' &&
    (typeof version === 'number' || typeof version === 'string')
    ? { name, version }
    : { name };
}

/** Entity types the lineage tab can center on. */
const LINEAGE_TYPES = new Set([
  'experiment',
  'dataset',
  'deployment',
  'monitor',
  'job',
  'sweep',
  'schedule',
  'model',
  'model_version'
]);

/** Register the audit command and tab; returns a function that opens it. */
export function setupAudit(
  app: JupyterFrontEnd,
  options: IAuditOptions
): (filters?: Partial<IAuditFilters>) => void {
  const { commands, shell } = app;
  const tracker = new WidgetTracker<MainAreaWidget<AuditWidget>>({
    namespace: 'labcycle-audit'
  });
  let serial = 0;

  const canOpen = (event: IAuditEvent): boolean => {
    const type = event.entity_type;
    if (!type || !event.entity_id) {
      return false;
    }
    switch (type) {
      case 'run':
      case 'project':
        return true;
      case 'model':
      case 'model_version':
        return (
          (versionRef(event) !== null &&
            commands.hasCommand(CommandIDs.openModelVersion)) ||
          commands.hasCommand(CommandIDs.openLineage)
        );
      default:
        return (
          LINEAGE_TYPES.has(type) && commands.hasCommand(CommandIDs.openLineage)
        );
    }
  };

  const onOpenEntity = (event: IAuditEvent): void => {
    const type = event.entity_type ?? '';
    const id = event.entity_id ?? '';
    const fail = (error: unknown) =>
      void showErrorMessage(
        'LabCycle',
        error instanceof Error ? error.message : String(error)
      );
    if (type === 'run') {
      options.openRun(id).catch(fail);
      return;
    }
    if (type === 'project') {
      options.openProject(id).catch(fail);
      return;
    }
    const ref = type.startsWith('model') ? versionRef(event) : null;
    if (ref && commands.hasCommand(CommandIDs.openModelVersion)) {
      commands.execute(CommandIDs.openModelVersion, ref).catch(fail);
      return;
    }
    commands.execute(CommandIDs.openLineage, { type, id }).catch(fail);
  };

  const open = async (
    filters: IAuditFilters,
    key: string | null
  ): Promise<void> => {
    // One tab per project scope: opening it again shows the new filters.
    const existing = tracker.find(w =>
      key
        ? w.content.key === key
        : (w.content.filters.project || '') === filters.project
    );
    if (existing) {
      existing.content.setFilters(filters);
      shell.activateById(existing.id);
      return;
    }
    const content = new AuditWidget(
      { hub: options.hub, refresh: options.refresh, canOpen, onOpenEntity },
      filters,
      key ?? `${Date.now().toString(36)}-${serial}`
    );
    // The tab's label follows the content's (its project filter).
    const widget = new MainAreaWidget({ content });
    widget.id = `labcycle-audit-${Date.now()}-${serial++}`;
    widget.title.closable = true;
    widget.addClass('lc-audit-tab');
    await tracker.add(widget);
    content.filtersChanged.connect(() => void tracker.save(widget));
    shell.add(widget, 'main');
    shell.activateById(widget.id);
  };

  commands.addCommand(CommandIDs.openAudit, {
    label: args =>
      args.project
        ? `Open LabCycle Audit Log of ${args.project}`
        : 'Open LabCycle Audit Log',
    caption: 'Who changed what, when: the audit log with before/after',
    icon: labcycleIcon,
    describedBy: {
      args: {
        type: 'object',
        properties: {
          project: { type: 'string' },
          user: { type: 'string' },
          action: { type: 'string' },
          entity_type: { type: 'string' },
          entity_id: { type: 'string' },
          since: { type: 'string' },
          until: { type: 'string' },
          key: { type: 'string', description: 'the tab to restore' }
        }
      }
    },
    execute: args =>
      open(
        auditFiltersFrom(args),
        typeof args.key === 'string' && args.key ? args.key : null
      )
  });
  if (options.palette) {
    options.palette.addItem({
      command: CommandIDs.openAudit,
      category: 'LabCycle'
    });
  }
  if (options.restorer) {
    void options.restorer.restore(tracker, {
      command: CommandIDs.openAudit,
      args: widget => ({ ...widget.content.filters, key: widget.content.key }),
      name: widget => widget.content.key
    });
  }
  return filters =>
    void commands
      .execute(CommandIDs.openAudit, { ...filters })
      .catch(error => console.error('LabCycle audit log', error));
}
