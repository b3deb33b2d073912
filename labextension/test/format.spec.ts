import {
  firstLine,
  formatAgo,
  formatBytes,
  formatDuration,
  formatMetric,
  formatNumber,
  isFiniteMetric,
  metricNumber,
  pickMetricKeys,
  stringRecord,
  runDuration,
  runLabel,
  shortId
} from '../src/format';
import { IRun } from '../src/models';

function run(overrides: Partial<IRun>): IRun {
  return {
    id: 'abcdef0123456789',
    experiment_id: 'e1',
    parent_run_id: null,
    name: '',
    status: 'finished',
    user: 'alice',
    start_time: '2026-11-27T10:00:00Z',
    end_time: null,
    duration_s: 0,
    notebook_path: null,
    source: 'notebook',
    params: {},
    metrics: {},
    tags: {},
    ...overrides
  };
}

describe('metric values', () => {
  it('reads the wire names of non-finite values', () => {
    expect(metricNumber(0.5)).toBe(0.5);
    expect(metricNumber('Infinity')).toBe(Infinity);
    expect(metricNumber('-Infinity')).toBe(-Infinity);
    expect(metricNumber('NaN')).toBeNaN();
    expect(metricNumber(null)).toBeNaN();
    expect(isFiniteMetric(1)).toBe(true);
    expect(isFiniteMetric('Infinity')).toBe(false);
    expect(isFiniteMetric(undefined)).toBe(false);
  });

  it('formats numbers compactly', () => {
    expect(formatNumber(3)).toBe('3');
    expect(formatNumber(12345)).toBe('12,345');
    expect(formatNumber(0.91321)).toBe('0.9132');
    expect(formatNumber(0.000012)).toBe('1.2e-5');
    expect(formatNumber(1234567.5)).toBe('1.235e+6');
    expect(formatNumber(NaN)).toBe('NaN');
    expect(formatNumber(-Infinity)).toBe('-Infinity');
    expect(formatMetric(null)).toBe('—');
    expect(formatMetric('NaN')).toBe('NaN');
    expect(formatMetric(0.25)).toBe('0.25');
  });
});

describe('durations and ages', () => {
  it('picks the unit by size', () => {
    expect(formatDuration(0.85)).toBe('850 ms');
    expect(formatDuration(12.34)).toBe('12 s');
    expect(formatDuration(9.87)).toBe('9.9 s');
    expect(formatDuration(245)).toBe('4m 05s');
    expect(formatDuration(2 * 3600 + 7 * 60)).toBe('2h 07m');
    expect(formatDuration(3 * 86400 + 4 * 3600)).toBe('3d 4h');
    expect(formatDuration(-5)).toBe('0 ms');
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(Infinity)).toBe('—');
  });

  it("uses the server's duration, else the time elapsed", () => {
    const now = Date.parse('2026-11-27T10:01:30Z');
    expect(runDuration(run({ duration_s: 12 }), now)).toBe(12);
    expect(runDuration({ ...run({}), duration_s: null }, now)).toBe(90);
    expect(
      runDuration(
        { ...run({ end_time: '2026-11-27T10:00:30Z' }), duration_s: null },
        now
      )
    ).toBe(30);
    expect(
      runDuration(
        { ...run({ start_time: 'not a date' }), duration_s: null },
        now
      )
    ).toBeNull();
  });

  it('says how long ago, then falls back to the date', () => {
    const now = Date.parse('2026-11-27T10:00:00Z');
    expect(formatAgo('2026-11-27T09:59:58Z', now)).toBe('just now');
    expect(formatAgo('2026-11-27T09:59:48Z', now)).toBe('12s ago');
    expect(formatAgo('2026-11-27T09:55:00Z', now)).toBe('5m ago');
    expect(formatAgo('2026-11-27T07:00:00Z', now)).toBe('3h ago');
    expect(formatAgo('2026-11-25T10:00:00Z', now)).toBe('2d ago');
    expect(formatAgo('2026-11-01T12:00:00Z', now)).toBe('2026-11-01');
    expect(formatAgo('garbage', now)).toBe('garbage');
    expect(formatAgo(null, now)).toBe('—');
    // a clock running ahead of the server never shows a negative age
    expect(formatAgo('2026-11-27T10:00:09Z', now)).toBe('just now');
  });
});

describe('sizes, ids and labels', () => {
  it('formats bytes with binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1434)).toBe('1.4 KB');
    expect(formatBytes(23 * 1024 * 1024)).toBe('23 MB');
    expect(formatBytes(undefined)).toBe('—');
  });

  it('shortens ids and labels runs', () => {
    expect(shortId('abcdef0123456789')).toBe('abcdef01');
    expect(shortId(null)).toBe('—');
    expect(runLabel({ id: 'abcdef0123456789', name: null })).toBe('abcdef01');
    expect(runLabel({ id: 'abcdef0123456789', name: 'baseline' })).toBe(
      'baseline'
    );
    expect(firstLine('\n  \nimport os\nx = 1')).toBe('import os');
    expect(firstLine('')).toBe('');
  });

  it('picks the metric keys most runs have, ties alphabetically', () => {
    const runs = [
      run({ metrics: { loss: 1, acc: 0.5, f1: 0.1 } }),
      run({ metrics: { loss: 0.5, acc: 0.6 } }),
      run({ metrics: { loss: 0.2, zeta: 3 } })
    ];
    expect(pickMetricKeys(runs, 3)).toEqual(['loss', 'acc', 'f1']);
    expect(pickMetricKeys(runs, 1)).toEqual(['loss']);
    expect(pickMetricKeys([])).toEqual([]);
  });
});

describe('stringRecord', () => {
  it('keeps strings and writes other values as JSON', () => {
    expect(stringRecord({ numpy: '1.26', n: 3, flag: true, x: null })).toEqual({
      numpy: '1.26',
      n: '3',
      flag: 'true',
      x: 'null'
    });
  });
  it('is empty for nothing', () => {
    expect(stringRecord(null)).toEqual({});
    expect(stringRecord(undefined)).toEqual({});
  });
});
