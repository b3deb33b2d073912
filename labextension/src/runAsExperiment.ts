import { JupyterFrontEnd } from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import { DocumentRegistry, IDocumentWidget } from '@jupyterlab/docregistry';
import { ToolbarButton } from '@jupyterlab/ui-components';

import { LabCycleClient } from './client';
import { labcycleIcon } from './icons';
import { readParameters } from './params';
import { RunDialogBody } from './runDialog';
import { CommandIDs } from './tokens';

export interface IRunAsExperimentOptions {
  client: LabCycleClient;
  palette: ICommandPalette | null;
  /** Show the Jobs section of the panel, with this job or sweep first. */
  revealJobs: (id?: string) => void;
}

/**
 * "Run as experiment…": the notebook toolbar button, the command (palette and
 * notebook context menu) and the dialog that submits a job or a sweep.
 */
export function addRunAsExperiment(
  app: JupyterFrontEnd,
  options: IRunAsExperimentOptions
): void {
  const { commands } = app;
  const notebooks = new Set<IDocumentWidget>();
  let last: IDocumentWidget | null = null;

  const current = (): IDocumentWidget | null => {
    const widget = app.shell.currentWidget as IDocumentWidget | null;
    if (widget && notebooks.has(widget)) {
      return widget;
    }
    return last && notebooks.has(last) ? last : null;
  };

  commands.addCommand(CommandIDs.runAsExperiment, {
    label: 'Run as experiment…',
    caption:
      "Run the saved notebook as a LabCycle job, with the form of its 'parameters' cell",
    icon: args => (args.toolbar ? labcycleIcon : undefined),
    isEnabled: () => current() !== null,
    execute: async () => {
      const widget = current();
      if (widget) {
        await runAsExperiment(widget, options);
      }
    }
  });

  app.docRegistry.addWidgetExtension('Notebook', {
    createNew: (
      widget: IDocumentWidget,
      _context: DocumentRegistry.Context
    ): void => {
      notebooks.add(widget);
      const button = new ToolbarButton({
        className: 'lc-run-as-experiment',
        icon: labcycleIcon,
        label: 'Run as experiment…',
        tooltip: 'Run this notebook as a LabCycle experiment (job or sweep)',
        onClick: () => {
          last = widget;
          void runAsExperiment(widget, options);
        }
      });
      widget.toolbar.insertItem(10, 'labcycle-run-as-experiment', button);
      const track = () => (last = widget);
      widget.node.addEventListener('focusin', track);
      widget.disposed.connect(() => {
        widget.node.removeEventListener('focusin', track);
        notebooks.delete(widget);
        if (last === widget) {
          last = null;
        }
      });
    }
  });

  app.contextMenu.addItem({
    command: CommandIDs.runAsExperiment,
    selector: '.jp-Notebook',
    rank: 80
  });
  options.palette?.addItem({
    command: CommandIDs.runAsExperiment,
    category: 'LabCycle'
  });
}

async function runAsExperiment(
  widget: IDocumentWidget,
  options: IRunAsExperimentOptions
): Promise<void> {
  const { context } = widget;
  await context.ready;
  const parsed = readParameters(context.model.toJSON());
  const body = new RunDialogBody(context.path, parsed);
  const result = await showDialog({
    title: 'Run as experiment',
    body,
    buttons: [
      Dialog.cancelButton(),
      Dialog.okButton({ label: 'Run', className: 'lc-run-submit' })
    ],
    focusNodeSelector: '.lc-param-input'
  });
  if (!result.button.accept) {
    return;
  }
  const request = result.value;
  if (!request || request instanceof Error) {
    await showErrorMessage(
      'Run as experiment',
      request instanceof Error ? request.message : 'Nothing to run.'
    );
    return;
  }
  try {
    // The job runs the file as saved: save the user's latest edits first.
    await context.save();
    if (request.kind === 'job') {
      const job = await options.client.submitJob(request.body);
      options.revealJobs(job.id);
    } else {
      const sweep = await options.client.createSweep(request.body);
      options.revealJobs(sweep.id);
    }
  } catch (error) {
    await showErrorMessage(
      'Run as experiment',
      error instanceof Error ? error.message : String(error)
    );
  }
}
