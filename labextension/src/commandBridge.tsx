import { JupyterFrontEnd } from '@jupyterlab/application';
import { showErrorMessage } from '@jupyterlab/apputils';
import * as React from 'react';

import { CommandIDs } from './commands';

/**
 * The application's command registry, for views that open other LabCycle
 * tabs (a run's "Lineage" button, a model version row's "Review"), so that
 * a view never imports another's widget and no callback has to be threaded
 * through every component in between. Set once by the plugin.
 */
let registry: JupyterFrontEnd['commands'] | null = null;

export function setCommandRegistry(
  commands: JupyterFrontEnd['commands']
): void {
  registry = commands;
}

/** Run a LabCycle command; a failure is shown, never thrown at a click. */
export async function runCommand(
  id: string,
  args: Record<string, unknown>
): Promise<void> {
  if (!registry) {
    return;
  }
  try {
    // Args are JSON values (ids, names, lists of ids).
    await registry.execute(id, args as never);
  } catch (error) {
    await showErrorMessage(
      'LabCycle',
      error instanceof Error ? error.message : String(error)
    );
  }
}

/** "Lineage": opens the lineage graph tab of an entity. */
export function LineageButton(props: {
  type: string;
  id: string;
  title?: string;
  className?: string;
  link?: boolean;
}): JSX.Element {
  return (
    <button
      className={
        (props.link
          ? 'lc-link-button lc-open-lineage'
          : 'jp-Button jp-mod-styled lc-open-lineage') +
        (props.className ? ` ${props.className}` : '')
      }
      title="Open the lineage graph: where it came from and what came of it"
      onClick={event => {
        event.stopPropagation();
        void runCommand(CommandIDs.openLineage, {
          type: props.type,
          id: props.id,
          title: props.title
        });
      }}
    >
      Lineage
    </button>
  );
}
