import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { PromiseDelegate } from '@lumino/coreutils';
import { ISignal, Signal } from '@lumino/signaling';

/** The id whose schema is `labextension/schema/plugin.json`. */
export const SETTINGS_PLUGIN_ID = 'labcycle:plugin';

/** What the user can set in Settings → LabCycle. */
export interface ILabCycleSettings {
  /** Seconds between polls of live views (runs table, active run). */
  refreshInterval: number;
  /** Runs per experiment the runs table loads. */
  pageSize: number;
  /** Hub search results per query. */
  searchPageSize: number;
  showNotebookToolbarItem: boolean;
  checkServerVersion: boolean;
}

export const DEFAULT_SETTINGS: ILabCycleSettings = {
  refreshInterval: 2,
  pageSize: 1000,
  searchPageSize: 30,
  showNotebookToolbarItem: true,
  checkServerVersion: true
};

/**
 * The current settings, readable anywhere (React views re-read them when
 * `changed` fires). Defaults until the settings registry has answered.
 */
class SettingsStore {
  get current(): ILabCycleSettings {
    return this._current;
  }

  get changed(): ISignal<SettingsStore, ILabCycleSettings> {
    return this._changed;
  }

  /** Bind to the registry: read now and follow every change. */
  async connect(registry: ISettingRegistry): Promise<void> {
    try {
      const settings = await registry.load(SETTINGS_PLUGIN_ID);
      const read = () => {
        this.update(settings.composite as Partial<ILabCycleSettings>);
      };
      read();
      settings.changed.connect(read);
    } finally {
      this._ready.resolve();
    }
  }

  /** Settled once the registry answered (or failed); never if none is bound. */
  get ready(): Promise<void> {
    return this._ready.promise;
  }

  update(values: Partial<ILabCycleSettings>): void {
    const next = { ...DEFAULT_SETTINGS };
    for (const key of Object.keys(DEFAULT_SETTINGS) as Array<
      keyof ILabCycleSettings
    >) {
      const value = values[key];
      if (value !== undefined && value !== null) {
        (next as Record<string, unknown>)[key] = value;
      }
    }
    if (JSON.stringify(next) !== JSON.stringify(this._current)) {
      this._current = next;
      this._changed.emit(next);
    }
  }

  private _ready = new PromiseDelegate<void>();
  private _current: ILabCycleSettings = { ...DEFAULT_SETTINGS };
  private _changed = new Signal<SettingsStore, ILabCycleSettings>(this);
}

export const labcycleSettings = new SettingsStore();
