import { ISignal, Signal } from '@lumino/signaling';

import { LabCycleClient } from './client';
import { ILabCycle } from './tokens';

/** The object the plugin provides as `ILabCycle`. */
export class LabCycleService implements ILabCycle {
  constructor(
    readonly client: LabCycleClient,
    private readonly _openRun: (runId: string, label?: string) => Promise<void>
  ) {}

  get refreshRequested(): ISignal<ILabCycle, void> {
    return this._refreshRequested;
  }

  openRun(runId: string, label?: string): Promise<void> {
    return this._openRun(runId, label);
  }

  refresh(): void {
    this._refreshRequested.emit();
  }

  get jobsRevealed(): ISignal<ILabCycle, string | null> {
    return this._jobsRevealed;
  }

  revealJobs(id: string | null = null): void {
    this._jobsRevealed.emit(id);
  }

  private _refreshRequested = new Signal<ILabCycle, void>(this);
  private _jobsRevealed = new Signal<ILabCycle, string | null>(this);
}
