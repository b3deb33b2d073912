import { ISignal } from '@lumino/signaling';
import { useCallback, useEffect, useRef, useState } from 'react';

import { errorMessage } from './components/States';
import {
  IResourceState,
  IResourceSubscription,
  PollingModel,
  resourceKey,
  sharedPolling
} from './pollingModel';

/** What a polled request looks like to a component. */
export interface IPollState<T> {
  /** The latest data; kept while a later poll fails. */
  data: T | undefined;
  /** The error of the latest attempt, if it failed. */
  error: Error | undefined;
  /** True until the first answer (or error) for the current key. */
  loading: boolean;
  /** Fetch now, then resume polling. */
  reload: () => void;
}

export interface IPollOptions {
  /** Milliseconds between the end of one request and the start of the next. */
  interval: number;
  /** Poll only while true (e.g. the panel is visible); data is kept meanwhile. */
  active: boolean;
  /**
   * Identity of what is fetched: a new key drops the old data and fetches at
   * once, so a list never shows the rows of the previous selection.
   */
  key: string;
  /** Extra reload triggers, e.g. the refresh command. */
  refresh?: ISignal<unknown, void>;
  /** Stop after the first success while this says so (a finished run). */
  done?: (data: unknown) => boolean;
  /** The model to subscribe to; the extension's shared one unless a test gives its own. */
  model?: PollingModel;
}

/**
 * Fetch with `fetcher` and again every `interval` ms while `active`.
 *
 * The data comes from the extension's one {@link sharedPolling} model: every component
 * that shows the resource `key` subscribes to the same {@link PolledResource} (a Lumino
 * Poll), so it is fetched once however many views show it. Requests never overlap, errors
 * back off (up to 30 s), nothing is fetched while the page is hidden or no subscriber is
 * active, the resource is dropped when its last subscriber goes, and `reload` fetches at
 * once. A `null` fetcher means "nothing to fetch". `key` must name what is fetched across
 * the whole extension (e.g. `run:<id>`), since equal keys share their data.
 */
export function usePoll<T>(
  fetcher: (() => Promise<T>) | null,
  options: IPollOptions
): IPollState<T> {
  const { interval, active, key, refresh, done } = options;
  const model = options.model ?? sharedPolling;
  const hasFetcher = fetcher !== null;
  const shared = resourceKey(key, interval);
  const [state, setState] = useState<IResourceState<T>>({
    data: undefined,
    error: undefined,
    loading: hasFetcher
  });
  const fetcherRef = useRef(fetcher);
  fetcherRef.current = fetcher;
  const doneRef = useRef(done);
  doneRef.current = done;
  const subscriptionRef = useRef<IResourceSubscription<T> | null>(null);

  useEffect(() => {
    if (!hasFetcher) {
      setState({ data: undefined, error: undefined, loading: false });
      return;
    }
    const subscription = model.subscribe<T>(
      shared,
      {
        fetch: () => {
          const current = fetcherRef.current;
          return current
            ? current()
            : Promise.reject(new Error('nothing to fetch'));
        },
        interval,
        done: data => (doneRef.current ? doneRef.current(data) : false)
      },
      next => setState(next)
    );
    // What the resource already holds (another view may have fetched it); a new key
    // starts empty, so a list never shows the rows of the previous selection.
    setState(subscription.resource.state);
    subscriptionRef.current = subscription;
    return () => {
      subscriptionRef.current = null;
      subscription.dispose();
    };
  }, [model, shared, interval, hasFetcher]);

  useEffect(() => {
    const subscription = subscriptionRef.current;
    if (!subscription || !active) {
      return;
    }
    subscription.setActive(true);
    return () => subscription.setActive(false);
  }, [model, shared, interval, hasFetcher, active]);

  const reload = useCallback(
    () => void subscriptionRef.current?.resource.refresh(),
    []
  );

  useEffect(() => {
    if (!refresh) {
      return;
    }
    const onRefresh = () => reload();
    refresh.connect(onRefresh);
    return () => {
      refresh.disconnect(onRefresh);
    };
  }, [refresh, reload]);

  return { ...state, reload };
}

/** The current value behind a signal, re-read each time it fires. */
export function useSignalValue<S, V>(
  signal: ISignal<S, unknown>,
  read: () => V
): V {
  const [value, setValue] = useState<V>(read);
  const readRef = useRef(read);
  readRef.current = read;
  useEffect(() => {
    const onChange = () => setValue(readRef.current());
    signal.connect(onChange);
    onChange();
    return () => {
      signal.disconnect(onChange);
    };
  }, [signal]);
  return value;
}

/** `Date.now()`, refreshed every `interval` ms while `active` (live durations). */
export function useNow(interval: number, active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) {
      return;
    }
    setNow(Date.now());
    const timer = window.setInterval(() => setNow(Date.now()), interval);
    return () => window.clearInterval(timer);
  }, [interval, active]);
  return now;
}

/** `value` once it has stayed the same (by JSON) for `delay` ms: typing settles. */
export function useDebounced<T>(value: T, delay: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setSettled(value), delay);
    return () => window.clearTimeout(timer);
  }, [JSON.stringify(value), delay]);
  return settled;
}

/** A set of ids (rows expanded, items picked) and a function that flips one. */
export function useToggleSet<T>(): [ReadonlySet<T>, (item: T) => void] {
  const [items, setItems] = useState<ReadonlySet<T>>(() => new Set());
  const toggle = useCallback(
    (item: T) =>
      setItems(previous => {
        const next = new Set(previous);
        if (next.has(item)) {
          next.delete(item);
        } else {
          next.add(item);
        }
        return next;
      }),
    []
  );
  return [items, toggle];
}

/** A user action's busy flag and error line (what to fix, from the server). */
export interface IActionState {
  busy: boolean;
  error: string | null;
  /** Show a message without running anything (e.g. a field left empty). */
  setError: (error: string | null) => void;
  /** Run `work`: busy meanwhile, its error shown; true when it succeeded. */
  run: (work: () => Promise<unknown>) => Promise<boolean>;
}

/** Busy flag and error line of a button or form that calls the server. */
export function useAction(): IActionState {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (work: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    setError(null);
    try {
      await work();
      return true;
    } catch (reason) {
      setError(errorMessage(reason));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, run };
}
