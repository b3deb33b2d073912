import { ISignal } from '@lumino/signaling';
import { useCallback, useEffect, useRef, useState } from 'react';

import { errorMessage } from './components/States';

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
}

/**
 * Fetch with `fetcher` and again every `interval` ms while `active`.
 *
 * Requests never overlap: the next one is scheduled when the previous ends.
 * After an error the interval doubles (up to 30 s) until a request succeeds.
 * A `null` fetcher means "nothing to fetch".
 */
export function usePoll<T>(
  fetcher: (() => Promise<T>) | null,
  options: IPollOptions
): IPollState<T> {
  const { interval, active, key, refresh, done } = options;
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [loading, setLoading] = useState<boolean>(fetcher !== null);
  const [tick, setTick] = useState(0);
  const fetcherRef = useRef(fetcher);
  fetcherRef.current = fetcher;
  const doneRef = useRef(done);
  doneRef.current = done;
  // A new key: forget the old data.
  useEffect(() => {
    setData(undefined);
    setError(undefined);
    setLoading(fetcherRef.current !== null);
  }, [key]);

  const reload = useCallback(() => setTick(t => t + 1), []);

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

  const lastTick = useRef(tick);
  useEffect(() => {
    const manual = lastTick.current !== tick;
    lastTick.current = tick;
    // Hidden: fetch nothing, unless the user asked for it (refresh command).
    if (fetcherRef.current === null || (!active && !manual)) {
      return;
    }
    let cancelled = false;
    let timer: number | undefined;
    let delay = interval;
    const step = async (): Promise<void> => {
      const current = fetcherRef.current;
      if (current === null) {
        return;
      }
      let stop = false;
      try {
        const result = await current();
        if (cancelled) {
          return;
        }
        setData(result);
        setError(undefined);
        delay = interval;
        stop = doneRef.current ? doneRef.current(result) : false;
      } catch (reason) {
        if (cancelled) {
          return;
        }
        setError(reason instanceof Error ? reason : new Error(String(reason)));
        delay = Math.min(delay * 2, 30000);
      }
      setLoading(false);
      if (!cancelled && active && !stop) {
        timer = window.setTimeout(() => void step(), delay);
      }
    };
    void step();
    return () => {
      cancelled = true;
      window.clearTimeout(timer);
    };
  }, [key, active, interval, tick]);

  return { data, error, loading, reload };
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
