/**
 * One shared polling model: every resource the panel shows (a project's runs, a monitor's
 * extras, …) is polled by a single Lumino Poll per key, however many components show it.
 * The Poll gives backoff after errors, standby while the page is hidden or nobody looks,
 * and refresh on demand; subscribers hear each new state through a signal.
 */
import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

/** What one polled resource holds. */
export interface IResourceState<T> {
  /** The latest data; kept while a later poll fails. */
  data: T | undefined;
  /** The error of the latest attempt, if it failed. */
  error: Error | undefined;
  /** True until the first answer (or error). */
  loading: boolean;
}

export interface IResourceOptions<T> {
  fetch: () => Promise<T>;
  /** Milliseconds between polls while someone looks and the page is visible. */
  interval: number;
  /** Longest wait after repeated errors. */
  maxInterval?: number;
  /** Stop polling once the data says so (a finished run); refresh still fetches. */
  done?: (data: T) => boolean;
}

/**
 * The key a resource is shared under: its identity and its interval (two views that
 * poll the same thing at different rates keep their own rates).
 */
export function resourceKey(key: string, interval: number): string {
  return `${key}@${interval}`;
}

/** A resource polled for as long as it has subscribers. */
export class PolledResource<T> implements IDisposable {
  constructor(options: IResourceOptions<T>) {
    this._fetch = options.fetch;
    this._done = options.done;
    this._poll = new Poll<void, Error, 'standby'>({
      factory: () => this._tick(),
      frequency: {
        interval: options.interval,
        backoff: true,
        max: Math.max(options.interval, options.maxInterval ?? 30000)
      },
      // Asked for (refresh): fetch; nobody active: wait; else poll unless the page is hidden.
      standby: () =>
        this._forced ? false : this._active > 0 ? 'when-hidden' : true,
      auto: false
    });
  }

  /** Emitted with the new state after every answer or error. */
  get changed(): ISignal<this, IResourceState<T>> {
    return this._changed;
  }

  get state(): IResourceState<T> {
    return this._state;
  }

  get isDisposed(): boolean {
    return this._poll.isDisposed;
  }

  /** The number of subscribers that want it polled now. */
  get activeCount(): number {
    return this._active;
  }

  /** One subscriber more (or fewer) that wants it polled now. */
  setActive(delta: number): void {
    const before = this._active;
    this._active = Math.max(0, this._active + delta);
    if (this.isDisposed || before > 0 || this._active === 0) {
      return;
    }
    if (this._stopped) {
      void this.refresh(); // done, but looked at again: fetch once more
    } else {
      void this._poll.start().then(() => this._poll.refresh());
    }
  }

  /** Fetch now (even when done or nobody is active), then go on as before. */
  async refresh(): Promise<void> {
    if (this.isDisposed) {
      return;
    }
    if (this._stopped) {
      this._stopped = false;
      await this._poll.start();
    }
    this._forced = true;
    await this._poll.refresh();
    await this._poll.tick.catch(() => undefined);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    // Poll.dispose leaves its pending timer armed; stopping first clears it.
    void this._poll.stop();
    this._poll.dispose();
    Signal.clearData(this);
  }

  private async _tick(): Promise<void> {
    this._forced = false;
    try {
      const data = await this._fetch();
      if (this.isDisposed) {
        return;
      }
      this._emit({ data, error: undefined, loading: false });
      if (this._done?.(data)) {
        this._stopped = true;
        void this._poll.stop();
      }
    } catch (reason) {
      if (this.isDisposed) {
        return;
      }
      const error =
        reason instanceof Error ? reason : new Error(String(reason));
      this._emit({ data: this._state.data, error, loading: false });
      throw error; // the Poll backs off
    }
  }

  private _emit(state: IResourceState<T>): void {
    this._state = state;
    this._changed.emit(state);
  }

  private readonly _fetch: () => Promise<T>;
  private readonly _done: ((data: T) => boolean) | undefined;
  private readonly _poll: Poll<void, Error, 'standby'>;
  private readonly _changed = new Signal<this, IResourceState<T>>(this);
  private _state: IResourceState<T> = {
    data: undefined,
    error: undefined,
    loading: true
  };
  private _active = 0;
  private _stopped = false;
  private _forced = false;
}

/**
 * One consumer of a shared resource: it hears the resource's states while subscribed and
 * counts towards "someone looks" while active. Disposing it releases the resource.
 */
export interface IResourceSubscription<T> extends IDisposable {
  readonly resource: PolledResource<T>;
  /** The key the resource is shared under. */
  readonly key: string;
  /** Whether this consumer wants the resource polled now (it is on screen). */
  setActive(active: boolean): void;
}

/** The panel's resources by key; one Poll each, shared by all its subscribers. */
export class PollingModel implements IDisposable {
  /**
   * Subscribe to the resource for `key` (created on first use with `options`; later
   * subscribers share it and its Poll). `listener` hears every new state. The last
   * subscription disposed disposes the resource.
   */
  subscribe<T>(
    key: string,
    options: IResourceOptions<T>,
    listener?: (state: IResourceState<T>) => void
  ): IResourceSubscription<T> {
    const resource = this.acquire<T>(key, options);
    const onChanged = (_: unknown, state: IResourceState<T>) =>
      listener?.(state);
    resource.changed.connect(onChanged);
    let active = false;
    let disposed = false;
    return {
      resource,
      key,
      get isDisposed() {
        return disposed;
      },
      setActive: (next: boolean) => {
        if (disposed || next === active) {
          return;
        }
        active = next;
        resource.setActive(next ? 1 : -1);
      },
      dispose: () => {
        if (disposed) {
          return;
        }
        disposed = true;
        resource.changed.disconnect(onChanged);
        if (active) {
          active = false;
          resource.setActive(-1);
        }
        this.release(key);
      }
    };
  }

  /** The number of subscribers (acquirers) of `key`; 0 when it is not polled. */
  users(key: string): number {
    return this._resources.get(key)?.users ?? 0;
  }

  /** The resource for `key`, created on first use; release it when done. */
  acquire<T>(key: string, options: IResourceOptions<T>): PolledResource<T> {
    let entry = this._resources.get(key);
    if (!entry) {
      const resource = new PolledResource<T>(options);
      entry = { resource: resource as PolledResource<unknown>, users: 0 };
      this._resources.set(key, entry);
    }
    entry.users += 1;
    return entry.resource as PolledResource<T>;
  }

  /** One user fewer; the last one disposes the resource and its Poll. */
  release(key: string): void {
    const entry = this._resources.get(key);
    if (!entry) {
      return;
    }
    entry.users -= 1;
    if (entry.users <= 0) {
      entry.resource.dispose();
      this._resources.delete(key);
    }
  }

  /** Fetch every resource now (the refresh command). */
  async refreshAll(): Promise<void> {
    await Promise.all(
      [...this._resources.values()].map(e => e.resource.refresh())
    );
  }

  /** The keys polled, for tests and diagnostics. */
  get keys(): string[] {
    return [...this._resources.keys()];
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    this._disposed = true;
    this._resources.forEach(e => e.resource.dispose());
    this._resources.clear();
  }

  private readonly _resources = new Map<
    string,
    { resource: PolledResource<unknown>; users: number }
  >();
  private _disposed = false;
}

/**
 * The one model the whole extension shares: the panel's sections, the main-area tabs and
 * the notebook toolbars all subscribe here, so a resource open in two places is polled once.
 */
export const sharedPolling = new PollingModel();
