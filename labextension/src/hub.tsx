import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  MainAreaWidget,
  Notification,
  showErrorMessage,
  WidgetTracker
} from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ISignal, Signal } from '@lumino/signaling';
import * as React from 'react';

import { ActiveRunExtension } from './activeRun';
import { setupAudit } from './audit';
import { LabCycleClient } from './client';
import { HubClient } from './client_hub';
import { CommandIDs } from './commands';
import { makeSanitizer, sharedSanitizer } from './components/HubText';
import { hubSection, IHubSectionProps } from './components/HubSection';
import { ProjectView } from './components/ProjectView';
import { LabCycleAPIError } from './handler';
import { labcycleIcon } from './icons';
import { IProject } from './models';
import { ISearchHit } from './models_hub';
import { MAX_COMPARE, runSelection } from './selection';
import { labcycleSettings } from './settings';
import { SnapshotNotesExtension } from './snapshotNotes';
import { ILabCycle } from './tokens';
import { FRONTEND_VERSION } from './version';
import { useWidgetVisible, VisibleReactWidget } from './widgets';

const PALETTE_CATEGORY = 'LabCycle';

export interface IHubSetupOptions {
  client: LabCycleClient;
  refresh: ISignal<unknown, void>;
  openRun: (runId: string, label?: string) => Promise<void>;
  /** Show the LabCycle sidebar. */
  showPanel: () => void;
  palette: ICommandPalette | null;
  restorer: ILayoutRestorer | null;
  rendermime: IRenderMimeRegistry | null;
  settingRegistry: ISettingRegistry | null;
  launcher: ILauncher | null;
  fileBrowser: IDefaultFileBrowser | null;
}

/** What the sidebar needs to show the Hub section. */
export type IHubSectionOptions = Omit<IHubSectionProps, 'active' | 'refresh'>;

export interface IProjectWidgetOptions {
  client: LabCycleClient;
  hub: HubClient;
  rendermime: IRenderMimeRegistry | null;
  projectId: string;
  refresh: ISignal<unknown, void>;
  onOpenRun: (runId: string, label?: string) => void;
  onOpenHit: (hit: ISearchHit) => void;
  onCompare: (runIds: string[]) => void;
  onLineage: (type: string, id: string, title?: string) => void;
  /** Open the audit log filtered by this project (by name). */
  onAudit?: (project: string) => void;
}

/** A project in a main-area tab. */
export class ProjectWidget extends VisibleReactWidget {
  constructor(private _options: IProjectWidgetOptions) {
    super();
    this.addClass('lc-project-widget');
    this._key = _options.projectId;
  }

  /** The id once loaded (the tab may be opened by name). */
  get projectId(): string {
    return this._id ?? this._key;
  }

  get projectName(): string | null {
    return this._name;
  }

  /** Does this tab show the project with this id or name? */
  shows(idOrName: string): boolean {
    return [this._key, this._id, this._name].includes(idOrName);
  }

  readonly onLoaded = (project: IProject): void => {
    this._id = project.id;
    this._name = project.name;
    this.title.label = `Project: ${project.name}`;
    this.title.caption = `LabCycle project ${project.name} (${project.status})\n${project.id}`;
  };

  protected render(): JSX.Element {
    return <ProjectTab widget={this} options={this._options} />;
  }

  private _key: string;
  private _id: string | null = null;
  private _name: string | null = null;
}

function ProjectTab(props: {
  widget: ProjectWidget;
  options: IProjectWidgetOptions;
}): JSX.Element {
  const visible = useWidgetVisible(props.widget);
  const o = props.options;
  return (
    <ProjectView
      client={o.client}
      hub={o.hub}
      rendermime={o.rendermime}
      projectId={o.projectId}
      visible={visible}
      refresh={o.refresh}
      onLoaded={props.widget.onLoaded}
      onOpenRun={o.onOpenRun}
      onOpenHit={o.onOpenHit}
      onCompare={o.onCompare}
      onLineage={o.onLineage}
      onAudit={o.onAudit}
    />
  );
}

/** Parse `models/<name>[/versions/<n>]` (a search hit's `url`). */
export function parseModelUrl(
  url: string
): { name: string; version?: number } | null {
  const match = /^models\/([^/]+)(?:\/versions\/v?(\d+))?\/?$/.exec(url);
  if (!match) {
    return null;
  }
  let name: string;
  try {
    name = decodeURIComponent(match[1]);
  } catch {
    name = match[1];
  }
  return match[2] ? { name, version: Number(match[2]) } : { name };
}

/**
 * The hub half of the extension: project tabs, search hits that open their
 * entity, the commands (palette, launcher, file browser), settings, the
 * server check at start, the notebook toolbar's active run and comments on
 * snapshot cells.
 */
export function setupHub(
  app: JupyterFrontEnd,
  options: IHubSetupOptions
): IHubSectionOptions {
  const { commands, shell } = app;
  const { client, refresh, rendermime } = options;
  const hub = new HubClient(client);
  const sanitize = makeSanitizer(rendermime);
  sharedSanitizer.current = sanitize;
  const searchRequested = new Signal<unknown, string | null>({});
  const tracker = new WidgetTracker<MainAreaWidget<ProjectWidget>>({
    namespace: 'labcycle-project'
  });

  if (options.settingRegistry) {
    labcycleSettings.connect(options.settingRegistry).catch(reason => {
      console.warn('LabCycle settings could not be loaded', reason);
    });
  }

  /** Run a command another part of the extension (or L2's views) provides. */
  const run = async (
    id: string,
    args: Record<string, any>,
    what: string
  ): Promise<void> => {
    if (!commands.hasCommand(id)) {
      await showErrorMessage(
        'LabCycle',
        `The ${what} view is not available in this version of the extension.`
      );
      return;
    }
    await commands.execute(id, args);
  };

  const compare = (runIds: string[]) => {
    if (runIds.length < 2 || runIds.length > MAX_COMPARE) {
      void showErrorMessage(
        'Compare runs',
        `Select 2 to ${MAX_COMPARE} runs to compare (${runIds.length} selected).`
      );
      return;
    }
    void run(CommandIDs.openComparison, { runIds }, 'comparison');
  };
  runSelection.compareRequested.connect((_, ids) => compare(ids));
  const lineage = (type: string, id: string, title?: string) =>
    void run(CommandIDs.openLineage, { type, id, title }, 'lineage');

  const openProject = async (idOrName: string): Promise<void> => {
    const existing = tracker.find(w => w.content.shows(idOrName));
    if (existing) {
      shell.activateById(existing.id);
      return;
    }
    const content = new ProjectWidget({
      client,
      hub,
      rendermime,
      projectId: idOrName,
      refresh,
      onOpenRun: (runId, label) => void options.openRun(runId, label),
      onOpenHit: hit => void openHit(hit),
      onCompare: compare,
      onLineage: lineage,
      onAudit: project => openAudit({ project })
    });
    const widget = new MainAreaWidget({ content });
    widget.id = `labcycle-project-${idOrName.replace(/[^\w-]/g, '_')}`;
    widget.title.label = `Project: ${idOrName.length > 20 ? idOrName.slice(0, 8) : idOrName}`;
    widget.title.icon = labcycleIcon;
    widget.title.closable = true;
    widget.addClass('lc-project-tab');
    await tracker.add(widget);
    shell.add(widget, 'main');
    shell.activateById(widget.id);
  };

  const openAudit = setupAudit(app, {
    hub,
    refresh,
    palette: options.palette,
    restorer: options.restorer,
    openRun: options.openRun,
    openProject: idOrName => openProject(idOrName)
  });

  /** Open what a search hit (or a note's entity) points at. */
  const openEntity = async (
    type: string,
    id: string,
    title?: string,
    url?: string
  ): Promise<void> => {
    switch (type) {
      case 'project':
        return openProject(id);
      case 'run':
        return options.openRun(id, title);
      case 'model':
      case 'model_version': {
        const parsed = url ? parseModelUrl(url) : null;
        if (parsed) {
          return run(
            CommandIDs.openModelVersion,
            { name: parsed.name, version: parsed.version },
            'model version'
          );
        }
        return run(CommandIDs.openLineage, { type, id, title }, 'lineage');
      }
      case 'note': {
        const note = await hub.getNote(id);
        if (note.anchor?.run_id) {
          return options.openRun(note.anchor.run_id);
        }
        return openEntity(note.entity.type, note.entity.id);
      }
      default:
        return run(CommandIDs.openLineage, { type, id, title }, 'lineage');
    }
  };

  const openHit = async (hit: ISearchHit): Promise<void> => {
    try {
      if (hit.type === 'experiment' && hit.project_id) {
        await openProject(hit.project_id);
      } else if (hit.type === 'notebook' && hit.run_id) {
        await options.openRun(hit.run_id);
      } else {
        await openEntity(hit.type, hit.id, hit.title, hit.url);
      }
    } catch (error) {
      await showErrorMessage(
        'LabCycle',
        error instanceof Error ? error.message : String(error)
      );
    }
  };

  const importFolder = async (path: string): Promise<void> => {
    try {
      const result = await hub.importProject(path);
      const { project } = result;
      Notification.success(
        `${result.created ? 'Imported' : 'Updated'} project “${project.name}” from ${path || 'the root folder'}` +
          (result.readme ? ` (README: ${result.readme})` : '') +
          (result.git_url ? ` · git ${result.git_url}` : ''),
        { autoClose: 6000 }
      );
      await openProject(project.id);
      commands.execute(CommandIDs.refresh).catch(() => undefined);
    } catch (error) {
      await showErrorMessage(
        'Import folder as a LabCycle project',
        error instanceof Error ? error.message : String(error)
      );
    }
  };

  if (options.restorer) {
    void options.restorer.restore(tracker, {
      command: CommandIDs.openProject,
      args: widget => ({ projectId: widget.content.projectId }),
      name: widget => widget.content.projectId
    });
  }

  // ---- commands ----
  commands.addCommand(CommandIDs.openHub, {
    label: args =>
      args.isLauncher ? 'LabCycle Hub' : 'Search the LabCycle Hub',
    caption: 'Search projects, runs, notebooks, notes and models',
    icon: labcycleIcon,
    execute: args => {
      options.showPanel();
      const query = (args.query as string | undefined) ?? null;
      // Now (opens the Hub section), and once the section and the shell's
      // own focus handling have settled (focuses the search box).
      searchRequested.emit(query);
      window.setTimeout(() => searchRequested.emit(query), 250);
    }
  });
  commands.addCommand(CommandIDs.openProject, {
    label: args =>
      args.projectId || args.name
        ? `Open LabCycle Project ${args.name ?? args.projectId}`
        : 'Open LabCycle Project…',
    caption:
      'Open a project tab: README, people, runs, models, activity, notes',
    execute: async args => {
      const key = (args.projectId ?? args.name) as string | undefined;
      if (key) {
        return openProject(key);
      }
      // No project given: the hub's project list is where to pick one.
      options.showPanel();
      searchRequested.emit(null);
    }
  });
  commands.addCommand(CommandIDs.importProject, {
    label: 'Import Folder as LabCycle Project',
    caption:
      'Create (or update) a project from a folder: its README, its git remote',
    icon: labcycleIcon,
    execute: async args => {
      let path = args.path as string | undefined;
      const browser = options.fileBrowser;
      if (path === undefined && browser) {
        if (args.fromContextMenu) {
          const item = browser.selectedItems().next();
          const selected = item.done ? undefined : item.value;
          if (selected && selected.type === 'directory') {
            path = selected.path;
          }
        }
        path = path ?? browser.model.path;
      }
      // Drive prefixes ("RTC:") are not server paths.
      await importFolder((path ?? '').replace(/^[A-Za-z0-9]+:/, ''));
    }
  });
  commands.addCommand(CommandIDs.compareSelected, {
    label: () => {
      const n = runSelection.ids.length;
      return n
        ? `Compare ${n} Selected LabCycle Runs`
        : 'Compare Selected LabCycle Runs';
    },
    caption: 'Compare the runs ticked in the LabCycle panel (2 to 50)',
    execute: () => compare(runSelection.ids)
  });
  commands.addCommand(CommandIDs.openNotes, {
    label: 'Open LabCycle Notes',
    caption: "Open an entity's tab, where its notes are",
    execute: args => openEntity(String(args.type), String(args.id))
  });
  commands.addCommand('labcycle:open-lineage-of-project', {
    label: 'Open Lineage of the Current LabCycle Project',
    isEnabled: () =>
      tracker.currentWidget !== null &&
      commands.hasCommand(CommandIDs.openLineage),
    execute: () => {
      const current = tracker.currentWidget;
      if (current) {
        lineage(
          'project',
          current.content.projectId,
          current.content.projectName ?? undefined
        );
      }
    }
  });

  if (options.palette) {
    for (const command of [
      CommandIDs.openHub,
      CommandIDs.openProject,
      CommandIDs.importProject,
      CommandIDs.compareSelected,
      'labcycle:open-lineage-of-project'
    ]) {
      options.palette.addItem({ command, category: PALETTE_CATEGORY });
    }
  }
  if (options.launcher) {
    options.launcher.add({
      command: CommandIDs.openHub,
      args: { isLauncher: true },
      category: 'Other',
      rank: 1
    });
  }
  app.contextMenu.addItem({
    command: CommandIDs.importProject,
    args: { fromContextMenu: true },
    selector: '.jp-DirListing-item[data-isdir="true"]',
    rank: 60
  });
  app.contextMenu.addItem({
    command: CommandIDs.importProject,
    selector: '.jp-DirListing-content',
    rank: 60
  });

  // ---- notebooks: the active run, comments on snapshot cells ----
  app.docRegistry.addWidgetExtension(
    'Notebook',
    new ActiveRunExtension(
      client,
      (runId, label) => void options.openRun(runId, label)
    )
  );
  app.docRegistry.addWidgetExtension(
    'Notebook',
    new SnapshotNotesExtension(hub, sanitize)
  );

  // ---- the server extension, checked once at start ----
  void app.restored.then(() => checkServer(client));

  return {
    hub,
    searchRequested,
    onOpenHit: hit => void openHit(hit),
    onOpenProject: project => void openProject(project.id),
    onImport: () => void commands.execute(CommandIDs.importProject),
    onOpenAudit: () => openAudit()
  };
}

/**
 * The hub plugin: registered beside the panel plugin, it gives the sidebar
 * its Hub section and adds the project tabs, commands, launcher card, file
 * browser menu, settings, server check, notebook toolbar item and snapshot
 * comments.
 */
export const hubPlugin: JupyterFrontEndPlugin<void> = {
  id: 'labcycle:hub',
  description:
    'LabCycle hub: search, projects, notes, launcher card, notebook toolbar.',
  autoStart: true,
  requires: [ILabCycle],
  optional: [
    ICommandPalette,
    ILayoutRestorer,
    IRenderMimeRegistry,
    ISettingRegistry,
    ILauncher,
    IDefaultFileBrowser
  ],
  activate: (
    app: JupyterFrontEnd,
    labcycle: ILabCycle,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    rendermime: IRenderMimeRegistry | null,
    settingRegistry: ISettingRegistry | null,
    launcher: ILauncher | null,
    fileBrowser: IDefaultFileBrowser | null
  ): void => {
    const section = setupHub(app, {
      client: labcycle.client,
      refresh: labcycle.refreshRequested,
      openRun: (runId, label) => labcycle.openRun(runId, label),
      showPanel: () => {
        void app.commands.execute(CommandIDs.openPanel);
      },
      palette,
      restorer,
      rendermime,
      settingRegistry,
      launcher,
      fileBrowser
    });
    hubSection.set(section);
  }
};

/** The message for a server that answers `GET version` with `version`. */
export function versionMessage(serverVersion: string): string | null {
  return serverVersion === FRONTEND_VERSION
    ? null
    : `LabCycle versions differ: frontend ${FRONTEND_VERSION}, server ${serverVersion}: reinstall labcycle (pip install --force-reinstall labcycle) and restart JupyterLab.`;
}

export const MISSING_SERVER_MESSAGE =
  'LabCycle server extension is not enabled: run `jupyter server extension enable labcycle` and restart';

/** `GET version` at start: a notification when missing or of another version. */
export async function checkServer(client: LabCycleClient): Promise<void> {
  await settingsSettled();
  if (!labcycleSettings.current.checkServerVersion) {
    return;
  }
  try {
    const info = await client.getVersion();
    const message = versionMessage(String(info.version));
    if (message) {
      Notification.warning(message, { autoClose: false });
    }
  } catch (error) {
    if (error instanceof LabCycleAPIError && error.isNotFound) {
      Notification.error(MISSING_SERVER_MESSAGE, { autoClose: false });
    } else {
      Notification.error(
        `LabCycle cannot reach its server extension: ${error instanceof Error ? error.message : String(error)}`,
        { autoClose: 10000 }
      );
    }
  }
}

/** Give the settings registry a moment to answer (the check is switchable). */
function settingsSettled(): Promise<void> {
  return Promise.race([
    labcycleSettings.ready,
    new Promise<void>(resolve => window.setTimeout(resolve, 3000))
  ]);
}
