import { Token } from '@lumino/coreutils';
import { ISignal } from '@lumino/signaling';

import { LabCycleClient } from './client';

/** Command ids: see `commands.ts` (the one list, shared with every view). */
export { CommandIDs } from './commands';

/** Id of the sidebar panel (also its DOM id). */
export const PANEL_ID = 'labcycle-panel';

/**
 * What the LabCycle plugin offers other plugins: the typed API client and a
 * way to open a run.
 */
export interface ILabCycle {
  /** The REST API client, bound to the application's server settings. */
  readonly client: LabCycleClient;
  /** Emitted when the user asks for fresh data (the refresh command). */
  readonly refreshRequested: ISignal<ILabCycle, void>;
  /** Open (or reveal) the detail view of a run in the main area. */
  openRun(runId: string, label?: string): Promise<void>;
  /** Ask every LabCycle view to reload now. */
  refresh(): void;
  /** Emitted with a job or sweep id when the Jobs section should show it. */
  readonly jobsRevealed: ISignal<ILabCycle, string | null>;
  /** Open the Jobs section of the panel (with this job or sweep first). */
  revealJobs(id?: string | null): void;
}

export const ILabCycle = new Token<ILabCycle>(
  'labcycle:ILabCycle',
  'The LabCycle REST client and run views.'
);
