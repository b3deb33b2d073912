import * as React from 'react';

import { formatNumber, isFiniteMetric } from '../format';
import { IDimension, IParallel } from '../models_analysis';

/** Colour ramp of the metric, low → high (visible on light and dark). */
const RAMP = ['#5e4fa2', '#3288bd', '#66c2a5', '#e6a532', '#d53e4f'];

function hex(color: string): number[] {
  return [1, 3, 5].map(i => parseInt(color.slice(i, i + 2), 16));
}

/** The ramp's colour at `t` in [0, 1]. */
export function rampColor(t: number): string {
  const x = Math.min(1, Math.max(0, t)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const a = hex(RAMP[i]);
  const b = hex(RAMP[i + 1]);
  const f = x - i;
  const rgb = a.map((v, k) => Math.round(v + (b[k] - v) * f));
  return `rgb(${rgb.join(',')})`;
}

const HEIGHT = 220;
const TOP = 34;
const BOTTOM = 26;
const AXIS_GAP = 130;
const SIDE = 60;

/** Where a value sits on an axis, 0 (bottom) to 1 (top); null when it has none. */
export function axisPosition(
  dim: IDimension,
  value: number | null | undefined
): number | null {
  if (value === null || value === undefined || !Number.isFinite(value)) {
    return null;
  }
  if (dim.kind === 'categorical') {
    const n = dim.categories?.length ?? 0;
    return n <= 1 ? 0.5 : value / (n - 1);
  }
  const min = dim.min ?? 0;
  const max = dim.max ?? 0;
  return max === min ? 0.5 : (value - min) / (max - min);
}

/**
 * A parallel-coordinates plot of the runs: one axis per param that differs
 * (numeric or categorical), the chosen metric last; each run is a line
 * coloured by its metric value.
 */
export function ParallelCoordinates(props: {
  parallel: IParallel;
  labels: Record<string, string>;
  metricKeys: string[];
  onMetric: (key: string) => void;
  busy?: boolean;
}): JSX.Element {
  const { parallel } = props;
  const [hover, setHover] = React.useState<string | null>(null);
  const metricDim: IDimension | null =
    parallel.metric && parallel.metric_range
      ? {
          key: parallel.metric,
          kind: 'numeric',
          min: parallel.metric_range[0],
          max: parallel.metric_range[1],
          categories: null
        }
      : null;
  const axes = [...parallel.dimensions, ...(metricDim ? [metricDim] : [])];
  // Few axes are spread wider, many keep a readable minimum gap.
  const gap = axes.length <= 3 ? AXIS_GAP * 2 : AXIS_GAP;
  const width = SIDE * 2 + Math.max(1, axes.length - 1) * gap;
  const xOf = (i: number) => (axes.length === 1 ? width / 2 : SIDE + i * gap);
  const yOf = (t: number) => TOP + (1 - t) * (HEIGHT - TOP - BOTTOM);
  const colorOf = (metric: unknown): string | null => {
    if (!metricDim || !isFiniteMetric(metric as number)) {
      return null;
    }
    const t = axisPosition(metricDim, metric as number);
    return t === null ? null : rampColor(t);
  };

  return (
    <div className="lc-parallel" data-axes={axes.length}>
      <div className="lc-parallel-controls">
        <label>
          Colour by metric{' '}
          <select
            className="jp-mod-styled lc-parallel-metric"
            value={parallel.metric ?? ''}
            disabled={props.busy || props.metricKeys.length === 0}
            onChange={event => props.onMetric(event.target.value)}
          >
            {!parallel.metric && <option value="">(none)</option>}
            {props.metricKeys.map(key => (
              <option key={key} value={key}>
                {key}
              </option>
            ))}
          </select>
        </label>
        {metricDim && (
          <span className="lc-parallel-scale">
            <span>{formatNumber(metricDim.min ?? 0)}</span>
            <span
              className="lc-parallel-ramp"
              style={{
                background: `linear-gradient(to right, ${RAMP.join(', ')})`
              }}
            />
            <span>{formatNumber(metricDim.max ?? 0)}</span>
          </span>
        )}
        {hover && (
          <span className="lc-parallel-hover">
            {props.labels[hover] ?? hover}
          </span>
        )}
      </div>
      {axes.length === 0 ? (
        <div className="lc-muted">No params to plot.</div>
      ) : (
        <div className="lc-parallel-scroll">
          <svg
            className="lc-parallel-svg"
            width={width}
            height={HEIGHT}
            viewBox={`0 0 ${width} ${HEIGHT}`}
            role="img"
            aria-label={`Parallel coordinates of ${parallel.rows.length} runs`}
          >
            {parallel.rows.map(row => {
              const color = colorOf(row.metric);
              const points = axes.map((dim, i) => {
                const t =
                  metricDim && i === axes.length - 1
                    ? axisPosition(
                        dim,
                        isFiniteMetric(row.metric)
                          ? (row.metric as number)
                          : null
                      )
                    : axisPosition(dim, row.values[dim.key]);
                return t === null ? null : `${xOf(i)},${yOf(t).toFixed(1)}`;
              });
              // A missing value breaks the line into pieces.
              const pieces: string[][] = [[]];
              points.forEach(p =>
                p === null ? pieces.push([]) : pieces[pieces.length - 1].push(p)
              );
              return (
                <g
                  key={row.run_id}
                  className={
                    'lc-parallel-run' +
                    (hover === row.run_id ? ' lc-hover' : '') +
                    (color ? '' : ' lc-no-metric')
                  }
                  data-run-id={row.run_id}
                  onMouseEnter={() => setHover(row.run_id)}
                  onMouseLeave={() => setHover(null)}
                >
                  <title>
                    {`${props.labels[row.run_id] ?? row.run_id}: ${
                      parallel.metric ?? 'metric'
                    } ${row.metric === null ? '—' : String(row.metric)}`}
                  </title>
                  {pieces
                    .filter(piece => piece.length > 0)
                    .map((piece, k) =>
                      piece.length === 1 ? (
                        <circle
                          key={k}
                          cx={piece[0].split(',')[0]}
                          cy={piece[0].split(',')[1]}
                          r={3}
                          fill={color ?? undefined}
                        />
                      ) : (
                        <polyline
                          key={k}
                          className="lc-parallel-line"
                          points={piece.join(' ')}
                          stroke={color ?? undefined}
                        />
                      )
                    )}
                </g>
              );
            })}
            {axes.map((dim, i) => (
              <g
                key={dim.key}
                className={
                  'lc-parallel-axis' +
                  (metricDim && i === axes.length - 1 ? ' lc-metric-axis' : '')
                }
                data-key={dim.key}
              >
                <line x1={xOf(i)} x2={xOf(i)} y1={TOP} y2={HEIGHT - BOTTOM} />
                <text
                  className="lc-axis-title"
                  x={xOf(i)}
                  y={14}
                  textAnchor="middle"
                >
                  {dim.key.length > 18 ? dim.key.slice(0, 17) + '…' : dim.key}
                </text>
                {dim.kind === 'categorical' ? (
                  (dim.categories ?? []).slice(0, 12).map((c, k) => (
                    <text
                      key={k}
                      className="lc-axis-tick"
                      x={xOf(i) + 5}
                      y={yOf(axisPosition(dim, k) ?? 0.5) + 3}
                    >
                      {c.length > 14 ? c.slice(0, 13) + '…' : c}
                    </text>
                  ))
                ) : (
                  <>
                    <text className="lc-axis-tick" x={xOf(i) + 5} y={TOP + 3}>
                      {formatNumber(dim.max ?? 0)}
                    </text>
                    <text
                      className="lc-axis-tick"
                      x={xOf(i) + 5}
                      y={HEIGHT - BOTTOM + 3}
                    >
                      {formatNumber(dim.min ?? 0)}
                    </text>
                  </>
                )}
              </g>
            ))}
          </svg>
        </div>
      )}
    </div>
  );
}
