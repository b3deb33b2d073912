import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  MainAreaWidget,
  showErrorMessage,
  WidgetTracker
} from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { IDocumentWidget } from '@jupyterlab/docregistry';

import { addAnalysisViews } from './analysis';
import { LabCycleClient } from './client';
import { pickSnapshot } from './components/RunDetail';
import { labcycleIcon } from './icons';
import { IJob } from './models_jobs';
import { hubPlugin } from './hub';
import { addRunAsExperiment } from './runAsExperiment';
import { LabCycleService } from './service';
import { openSnapshot } from './snapshot';
import { CommandIDs, ILabCycle, PANEL_ID } from './tokens';
import { LabCycleSidebar, RunDetailWidget } from './widgets';

export { LabCycleAPIError, requestAPI } from './handler';
export { LabCycleClient } from './client';
export * from './models';
export * from './models_jobs';
export * from './tokens';

const PALETTE_CATEGORY = 'LabCycle';

/**
 * The LabCycle panel: the sidebar, the run detail tabs and their commands.
 */
const plugin: JupyterFrontEndPlugin<ILabCycle> = {
  id: 'labcycle:plugin',
  description: 'Experiments, runs and their lineage in a JupyterLab sidebar.',
  autoStart: true,
  provides: ILabCycle,
  optional: [ICommandPalette, ILayoutRestorer, IDocumentManager],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    docManager: IDocumentManager | null
  ): ILabCycle => {
    const { commands, shell, serviceManager } = app;
    const client = new LabCycleClient(serviceManager.serverSettings);
    const tracker = new WidgetTracker<MainAreaWidget<RunDetailWidget>>({
      namespace: 'labcycle-run'
    });

    // A snapshot is a record to read: open it without starting a kernel.
    const openNotebook = async (
      path: string
    ): Promise<IDocumentWidget | undefined> => {
      if (docManager) {
        return docManager.openOrReveal(path, undefined, undefined, undefined, {
          shouldStart: false
        });
      }
      return commands.execute('docmanager:open', {
        path,
        kernelPreference: { shouldStart: false }
      });
    };

    const snapshotOptions = {
      client,
      contents: serviceManager.contents,
      open: openNotebook
    };

    /** A job's executed notebook (its run's `executed.ipynb`), read-only. */
    const openExecuted = async (job: IJob): Promise<void> => {
      if (!job.run_id) {
        throw new Error('This job has no run yet.');
      }
      const [run, artifacts] = await Promise.all([
        client.getRun(job.run_id),
        client.listArtifacts(job.run_id)
      ]);
      const artifact =
        artifacts.find(a => a.path === 'executed.ipynb') ??
        pickSnapshot(run, artifacts);
      if (!artifact) {
        throw new Error('The run of this job has no executed notebook.');
      }
      await openSnapshot(snapshotOptions, run, artifact);
    };

    const revealJobs = (id: string | null = null): void => {
      shell.activateById(sidebar.id);
      labcycle.revealJobs(id);
    };

    const openRun = async (runId: string, label?: string): Promise<void> => {
      const existing = tracker.find(w => w.content.runId === runId);
      if (existing) {
        shell.activateById(existing.id);
        return;
      }
      const content = new RunDetailWidget({
        client,
        runId,
        refresh: labcycle.refreshRequested,
        onOpenNotebook: async (run, artifact) => {
          await openSnapshot(snapshotOptions, run, artifact);
        },
        onReproduce: async run => {
          try {
            const started = await client.reproduceRun(run.id);
            revealJobs(started.job.id);
          } catch (error) {
            await showErrorMessage(
              'Reproduce',
              error instanceof Error ? error.message : String(error)
            );
          }
        }
      });
      const widget = new MainAreaWidget({ content });
      widget.id = `labcycle-run-${runId}`;
      widget.title.label = `Run: ${label || runId.slice(0, 8)}`;
      widget.title.icon = labcycleIcon;
      widget.title.closable = true;
      widget.addClass('lc-run-tab');
      await tracker.add(widget);
      shell.add(widget, 'main');
      shell.activateById(widget.id);
    };

    const labcycle = new LabCycleService(client, openRun);

    const sidebar = new LabCycleSidebar({
      client,
      refresh: labcycle.refreshRequested,
      onRefresh: () => labcycle.refresh(),
      onOpenRun: run => void openRun(run.id, run.name ?? undefined),
      onOpenRunId: (runId, label) => void openRun(runId, label),
      onOpenExecuted: openExecuted,
      jobsRevealed: labcycle.jobsRevealed
    });
    shell.add(sidebar, 'left', { rank: 850, type: 'LabCycle' });
    if (restorer) {
      restorer.add(sidebar, PANEL_ID);
      void restorer.restore(tracker, {
        command: CommandIDs.openRun,
        args: widget => ({ runId: widget.content.runId }),
        name: widget => widget.content.runId
      });
    }

    commands.addCommand(CommandIDs.openPanel, {
      label: 'Open LabCycle Panel',
      caption: 'Show projects, experiments and runs',
      icon: labcycleIcon,
      execute: () => shell.activateById(sidebar.id)
    });
    commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh LabCycle',
      caption: 'Reload projects, experiments and runs now',
      execute: () => labcycle.refresh()
    });
    commands.addCommand(CommandIDs.openRun, {
      label: args =>
        args.runId ? `Open LabCycle Run ${args.runId}` : 'Open LabCycle Run',
      describedBy: {
        args: {
          type: 'object',
          properties: {
            runId: { type: 'string', description: 'Id of the run' }
          },
          required: ['runId']
        }
      },
      execute: async args => {
        const runId = args.runId as string | undefined;
        if (!runId) {
          await showErrorMessage('LabCycle', 'No run id given to open.');
          return;
        }
        await openRun(runId, args.label as string | undefined);
      }
    });
    commands.addCommand(CommandIDs.showJobs, {
      label: 'Show LabCycle Jobs',
      caption: 'Open the Jobs section of the LabCycle panel',
      execute: args => revealJobs((args.id as string | undefined) ?? null)
    });
    addRunAsExperiment(app, { client, palette, revealJobs });
    addAnalysisViews(app, {
      client,
      refresh: labcycle.refreshRequested,
      openRun,
      snapshotOptions,
      restorer
    });
    if (palette) {
      palette.addItem({
        command: CommandIDs.showJobs,
        category: PALETTE_CATEGORY
      });
      palette.addItem({
        command: CommandIDs.openPanel,
        category: PALETTE_CATEGORY
      });
      palette.addItem({
        command: CommandIDs.refresh,
        category: PALETTE_CATEGORY
      });
    }
    return labcycle;
  }
};

export default [plugin, hubPlugin];
