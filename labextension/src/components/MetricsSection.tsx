import * as React from 'react';

import { formatMetric, isFiniteMetric } from '../format';
import { IMetricHistory, MetricValue } from '../models';
import { MetricChart } from './MetricChart';

export interface IMetricsSectionProps {
  /** Latest value per key, from the run. */
  latest: Record<string, MetricValue>;
  /** Keys to show, in order. */
  keys: string[];
  /** History per key; an Error when that history could not be loaded. */
  histories: Record<string, IMetricHistory | Error>;
}

/** True when a history has at least two finite points to draw. */
function isSeries(history: IMetricHistory | Error | undefined): boolean {
  return (
    history !== undefined &&
    !(history instanceof Error) &&
    history.points.filter(p => isFiniteMetric(p.value)).length > 1
  );
}

/**
 * The run's metrics: a card with a chart for each metric logged over
 * steps, then a compact tile for each metric logged once.
 */
export function MetricsSection(props: IMetricsSectionProps): JSX.Element {
  if (props.keys.length === 0) {
    return (
      <div className="lc-metrics">
        <div className="lc-muted">No metrics logged.</div>
      </div>
    );
  }
  const series = props.keys.filter(key => isSeries(props.histories[key]));
  const singles = props.keys.filter(key => !series.includes(key));
  return (
    <div className="lc-metrics">
      {series.length > 0 && (
        <div className="lc-metric-grid">
          {series.map(key => (
            <div className="lc-metric-card" key={key} data-metric={key}>
              <MetricHead metricKey={key} value={props.latest?.[key]} />
              <MetricChart
                metricKey={key}
                history={(props.histories[key] as IMetricHistory).points}
              />
            </div>
          ))}
        </div>
      )}
      {singles.length > 0 && (
        <div className="lc-metric-tiles">
          {singles.map(key => {
            const history = props.histories[key];
            const points =
              history instanceof Error ? [] : (history?.points ?? []);
            const skipped = points.filter(p => !isFiniteMetric(p.value)).length;
            return (
              <div className="lc-metric-tile" key={key} data-metric={key}>
                <MetricHead metricKey={key} value={props.latest?.[key]} />
                <div className="lc-metric-sub">
                  {history instanceof Error ? (
                    <span className="lc-error-text" title={history.message}>
                      history unavailable
                    </span>
                  ) : points.length === 1 ? (
                    `step ${points[0].step}`
                  ) : (
                    `${points.length} points` +
                    (skipped ? `, ${skipped} non-finite` : '')
                  )}
                </div>
              </div>
            );
          })}
        </div>
      )}
    </div>
  );
}

/** A metric's key and latest value; non-finite values shown by name. */
function MetricHead(props: {
  metricKey: string;
  value: MetricValue | undefined;
}): JSX.Element {
  const nonFinite = props.value !== undefined && !isFiniteMetric(props.value);
  return (
    <div className="lc-metric-head">
      <span className="lc-metric-key" title={props.metricKey}>
        {props.metricKey}
      </span>
      <span
        className={'lc-metric-value' + (nonFinite ? ' lc-nonfinite' : '')}
        title="Latest value"
      >
        {formatMetric(props.value)}
      </span>
    </div>
  );
}
