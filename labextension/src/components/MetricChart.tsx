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

/** Scale the finite points of a history into the chart's box. */
export function layoutChart(history: IMetricPoint[]): IChartData {
  const finite = history
    .filter(p => isFiniteMetric(p.value))
    .map((p, index) => ({ ...p, value: p.value as number, index }))
    .sort(
      (a, b) =>
        a.step - b.step || a.timestamp - b.timestamp || a.index - b.index
    );
  const skipped = history.length - finite.length;
  if (finite.length === 0) {
    return { points: [], min: 0, max: 0, skipped, byStep: true };
  }
  const steps = new Set(finite.map(p => p.step));
  const byStep = steps.size === finite.length;
  const xs = finite.map((p, i) => (byStep ? p.step : i));
  const values = finite.map(p => p.value);
  const min = Math.min(...values);
  const max = Math.max(...values);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const sx = (x: number) =>
    x1 === x0 ? WIDTH / 2 : PAD + ((x - x0) / (x1 - x0)) * (WIDTH - 2 * PAD);
  const sy = (v: number) =>
    max === min
      ? HEIGHT / 2
      : HEIGHT - PAD - ((v - min) / (max - min)) * (HEIGHT - 2 * PAD);
  return {
    points: finite.map((p, i) => ({
      step: p.step,
      value: p.value,
      x: sx(xs[i]),
      y: sy(p.value)
    })),
    min,
    max,
    skipped,
    byStep
  };
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
