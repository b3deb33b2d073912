import * as React from 'react';

import { formatNumber, isFiniteMetric } from '../format';
import { IMetricPoint } from '../models';

const WIDTH = 260;
const HEIGHT = 64;
const PAD = 4;

interface IPlotPoint {
  step: number;
  value: number;
  x: number;
  y: number;
}

export interface IChartData {
  points: IPlotPoint[];
  min: number;
  max: number;
  /** Points left out because their value is NaN or infinite. */
  skipped: number;
  /** x follows the step, unless steps repeat (then the logging order). */
  byStep: boolean;
}

/** The chart's box in SVG units. */
export interface IChartBox {
  width: number;
  height: number;
  pad: number;
}

const BOX: IChartBox = { width: WIDTH, height: HEIGHT, pad: PAD };

interface IFinitePoint {
  step: number;
  value: number;
}

/** The finite points of a history in step order, and how many were left out. */
function finitePoints(history: IMetricPoint[]): {
  points: IFinitePoint[];
  skipped: number;
} {
  const points = history
    .map((p, index) => ({ ...p, index }))
    .filter(p => isFiniteMetric(p.value))
    .sort(
      (a, b) =>
        a.step - b.step || a.timestamp - b.timestamp || a.index - b.index
    )
    .map(p => ({ step: p.step, value: p.value as number }));
  return { points, skipped: history.length - points.length };
}

export interface IMultiChartData {
  /** One laid-out series per history, in the order given. */
  series: IChartData[];
  min: number;
  max: number;
  /** The x range, in steps (or logging positions when steps repeat). */
  x0: number;
  x1: number;
  byStep: boolean;
}

/**
 * Scale several histories into one box with a shared x (step) and y
 * (value) range, so their curves can be overlaid. The single-metric chart
 * is the case of one history.
 */
export function layoutSeries(
  histories: IMetricPoint[][],
  box: IChartBox = BOX
): IMultiChartData {
  const prepared = histories.map(finitePoints);
  // x follows the step, unless a series repeats steps (then the logging order).
  const byStep = prepared.every(
    ({ points }) => new Set(points.map(p => p.step)).size === points.length
  );
  const xsOf = (points: IFinitePoint[]) =>
    points.map((p, i) => (byStep ? p.step : i));
  const all = prepared.flatMap(({ points }) => points);
  if (all.length === 0) {
    return {
      series: prepared.map(({ skipped }) => ({
        points: [],
        min: 0,
        max: 0,
        skipped,
        byStep
      })),
      min: 0,
      max: 0,
      x0: 0,
      x1: 0,
      byStep
    };
  }
  const allXs = prepared.flatMap(({ points }) => xsOf(points));
  const min = Math.min(...all.map(p => p.value));
  const max = Math.max(...all.map(p => p.value));
  const x0 = Math.min(...allXs);
  const x1 = Math.max(...allXs);
  const { width, height, pad } = box;
  const sx = (x: number) =>
    x1 === x0 ? width / 2 : pad + ((x - x0) / (x1 - x0)) * (width - 2 * pad);
  const sy = (v: number) =>
    max === min
      ? height / 2
      : height - pad - ((v - min) / (max - min)) * (height - 2 * pad);
  return {
    series: prepared.map(({ points, skipped }) => {
      const xs = xsOf(points);
      const values = points.map(p => p.value);
      return {
        points: points.map((p, i) => ({
          step: p.step,
          value: p.value,
          x: sx(xs[i]),
          y: sy(p.value)
        })),
        min: values.length ? Math.min(...values) : 0,
        max: values.length ? Math.max(...values) : 0,
        skipped,
        byStep
      };
    }),
    min,
    max,
    x0,
    x1,
    byStep
  };
}

/** Scale the finite points of a history into the chart's box. */
export function layoutChart(history: IMetricPoint[]): IChartData {
  return layoutSeries([history]).series[0];
}

/**
 * A small line chart of one metric over its steps; hovering shows the
 * nearest point. Non-finite values are not drawn (the caller says how many).
 */
export function MetricChart(props: {
  metricKey: string;
  history: IMetricPoint[];
}): JSX.Element {
  const chart = React.useMemo(
    () => layoutChart(props.history),
    [props.history]
  );
  const [hover, setHover] = React.useState<number | null>(null);
  const svgRef = React.useRef<SVGSVGElement>(null);

  if (chart.points.length < 2) {
    const only = chart.points[0];
    return (
      <div className="lc-chart lc-chart-empty">
        {only
          ? `One value, at step ${only.step}`
          : chart.skipped > 0
            ? 'Only non-finite values: nothing to draw'
            : 'No points'}
        {chart.skipped > 0 && only && ` (+${chart.skipped} non-finite)`}
      </div>
    );
  }

  const onMove = (event: React.MouseEvent<SVGSVGElement>) => {
    const box = svgRef.current?.getBoundingClientRect();
    if (!box || box.width === 0) {
      return;
    }
    const x = ((event.clientX - box.left) / box.width) * WIDTH;
    let nearest = 0;
    chart.points.forEach((p, i) => {
      if (Math.abs(p.x - x) < Math.abs(chart.points[nearest].x - x)) {
        nearest = i;
      }
    });
    setHover(nearest);
  };

  const line = chart.points
    .map(p => `${p.x.toFixed(2)},${p.y.toFixed(2)}`)
    .join(' ');
  const first = chart.points[0];
  const last = chart.points[chart.points.length - 1];
  const area =
    `M${first.x.toFixed(2)},${HEIGHT} L${line.replace(/ /g, ' L')} ` +
    `L${last.x.toFixed(2)},${HEIGHT} Z`;
  const active = hover === null ? null : chart.points[hover];

  return (
    <div className="lc-chart" data-metric={props.metricKey}>
      <div className="lc-chart-plot">
        <svg
          ref={svgRef}
          className="lc-chart-svg"
          viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
          preserveAspectRatio="none"
          role="img"
          aria-label={`${props.metricKey} over ${chart.points.length} points`}
          onMouseMove={onMove}
          onMouseLeave={() => setHover(null)}
        >
          <path className="lc-chart-area" d={area} />
          <polyline
            className="lc-chart-line"
            points={line}
            vectorEffect="non-scaling-stroke"
          />
          {active && (
            <line
              className="lc-chart-cursor"
              x1={active.x}
              x2={active.x}
              y1={0}
              y2={HEIGHT}
              vectorEffect="non-scaling-stroke"
            />
          )}
        </svg>
        {/* Dots are HTML so they stay round whatever the chart's aspect ratio. */}
        <span
          className="lc-chart-dot"
          style={{
            left: `${((active ?? last).x / WIDTH) * 100}%`,
            top: `${((active ?? last).y / HEIGHT) * 100}%`
          }}
        />
        {active && (
          <div
            className="lc-chart-tip"
            style={{
              left: `${(active.x / WIDTH) * 100}%`,
              transform: active.x > WIDTH / 2 ? 'translateX(-100%)' : undefined
            }}
          >
            {chart.byStep ? `step ${active.step}` : `#${(hover ?? 0) + 1}`}:{' '}
            <strong>{formatNumber(active.value)}</strong>
          </div>
        )}
      </div>
      <div className="lc-chart-axis">
        <span>
          {chart.byStep
            ? `step ${first.step} – ${last.step}`
            : `${chart.points.length} points`}
        </span>
        <span title="min – max">
          {formatNumber(chart.min)} – {formatNumber(chart.max)}
        </span>
      </div>
      {chart.skipped > 0 && (
        <div className="lc-chart-note lc-nonfinite">
          {chart.skipped} non-finite value{chart.skipped > 1 ? 's' : ''} not
          drawn
        </div>
      )}
    </div>
  );
}

/** One curve of an overlaid chart. */
export interface IChartSeries {
  id: string;
  label: string;
  color: string;
  history: IMetricPoint[];
  /** Drawn dashed (tells runs apart once colours repeat). */
  dashed?: boolean;
}

const MULTI_BOX: IChartBox = { width: 480, height: 150, pad: 6 };

/**
 * Several histories of one metric overlaid on shared axes (one line per
 * run, as the comparison tab draws them), with a legend; hovering shows
 * each run's value at the nearest step.
 */
export function MultiMetricChart(props: {
  metricKey: string;
  series: IChartSeries[];
}): JSX.Element {
  const chart = React.useMemo(
    () =>
      layoutSeries(
        props.series.map(s => s.history),
        MULTI_BOX
      ),
    [props.series]
  );
  const [hoverX, setHoverX] = React.useState<number | null>(null);
  const svgRef = React.useRef<SVGSVGElement>(null);
  const { width, height } = MULTI_BOX;
  const drawn = chart.series.filter(s => s.points.length > 0).length;

  const onMove = (event: React.MouseEvent<SVGSVGElement>) => {
    const box = svgRef.current?.getBoundingClientRect();
    if (!box || box.width === 0) {
      return;
    }
    setHoverX(((event.clientX - box.left) / box.width) * width);
  };
  // The point of each series nearest the cursor.
  const nearest =
    hoverX === null
      ? []
      : chart.series.map(s =>
          s.points.reduce<IPlotPoint | null>(
            (best, p) =>
              best === null ||
              Math.abs(p.x - hoverX) < Math.abs(best.x - hoverX)
                ? p
                : best,
            null
          )
        );
  const cursor = nearest.find(p => p !== null) ?? null;

  return (
    <div
      className="lc-chart lc-multi-chart"
      data-metric={props.metricKey}
      data-lines={drawn}
    >
      <div className="lc-chart-plot">
        <svg
          ref={svgRef}
          className="lc-chart-svg"
          viewBox={`0 0 ${width} ${height}`}
          preserveAspectRatio="none"
          role="img"
          aria-label={`${props.metricKey}: ${drawn} runs overlaid`}
          onMouseMove={onMove}
          onMouseLeave={() => setHoverX(null)}
        >
          {chart.series.map((s, i) => {
            const run = props.series[i];
            if (s.points.length === 0) {
              return null;
            }
            if (s.points.length === 1) {
              const p = s.points[0];
              return (
                <line
                  key={run.id}
                  className="lc-chart-run-line lc-chart-single"
                  data-run-id={run.id}
                  x1={p.x - 3}
                  x2={p.x + 3}
                  y1={p.y}
                  y2={p.y}
                  stroke={run.color}
                  vectorEffect="non-scaling-stroke"
                />
              );
            }
            return (
              <polyline
                key={run.id}
                className="lc-chart-run-line"
                data-run-id={run.id}
                points={s.points
                  .map(p => `${p.x.toFixed(2)},${p.y.toFixed(2)}`)
                  .join(' ')}
                stroke={run.color}
                strokeDasharray={run.dashed ? '5 3' : undefined}
                vectorEffect="non-scaling-stroke"
              />
            );
          })}
          {cursor && (
            <line
              className="lc-chart-cursor"
              x1={cursor.x}
              x2={cursor.x}
              y1={0}
              y2={height}
              vectorEffect="non-scaling-stroke"
            />
          )}
        </svg>
        {cursor && (
          <div
            className="lc-chart-tip lc-multi-tip"
            style={{
              left: `${(cursor.x / width) * 100}%`,
              transform: cursor.x > width / 2 ? 'translateX(-100%)' : undefined
            }}
          >
            {props.series.map((run, i) => {
              const p = nearest[i];
              return p ? (
                <div key={run.id} className="lc-tip-row">
                  <span
                    className="lc-swatch"
                    style={{ background: run.color }}
                  />
                  {run.label}
                  {chart.byStep ? ` @${p.step}` : ''}:{' '}
                  <strong>{formatNumber(p.value)}</strong>
                </div>
              ) : null;
            })}
          </div>
        )}
      </div>
      <div className="lc-chart-axis">
        <span>
          {chart.byStep
            ? `step ${chart.x0} – ${chart.x1}`
            : `${chart.x1 + 1} points`}
        </span>
        <span title="min – max over all runs">
          {formatNumber(chart.min)} – {formatNumber(chart.max)}
        </span>
      </div>
    </div>
  );
}
