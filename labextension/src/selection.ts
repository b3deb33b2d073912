import { ISignal, Signal } from '@lumino/signaling';

/** Most runs the comparison view takes at once (`GET compare/runs`). */
export const MAX_COMPARE = 50;

/**
 * The runs ticked in the sidebar's runs table: what "Compare selected runs"
 * (command palette, the table's Compare button) compares.
 */
class RunSelection {
  get ids(): string[] {
    return [...this._ids];
  }

  get changed(): ISignal<RunSelection, string[]> {
    return this._changed;
  }

  has(id: string): boolean {
    return this._ids.has(id);
  }

  toggle(id: string): void {
    if (this._ids.has(id)) {
      this._ids.delete(id);
    } else {
      this._ids.add(id);
    }
    this._changed.emit(this.ids);
  }

  set(ids: Iterable<string>): void {
    this._ids = new Set(ids);
    this._changed.emit(this.ids);
  }

  clear(): void {
    if (this._ids.size) {
      this.set([]);
    }
  }

  /** Emitted when a view asks to compare the selection (the hub plugin answers). */
  get compareRequested(): ISignal<RunSelection, string[]> {
    return this._compareRequested;
  }

  requestCompare(): void {
    this._compareRequested.emit(this.ids);
  }

  private _ids = new Set<string>();
  private _compareRequested = new Signal<RunSelection, string[]>(this);
  private _changed = new Signal<RunSelection, string[]>(this);
}

export const runSelection = new RunSelection();
