import * as React from 'react';

/**
 * Run colours of the comparison: mid-tone hues that read on light and dark
 * backgrounds alike. Past ten runs they repeat, dashed (see `runDashed`).
 */
export const RUN_COLORS = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf'
];

export function runColor(index: number): string {
  return RUN_COLORS[index % RUN_COLORS.length];
}

export function runDashed(index: number): boolean {
  return Math.floor(index / RUN_COLORS.length) % 2 === 1;
}

/** A value of a comparison table as text (null: the run lacks it). */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) {
    return '—';
  }
  if (typeof value === 'number') {
    return Number.isInteger(value)
      ? String(value)
      : String(Number(value.toPrecision(6)));
  }
  if (typeof value === 'object') {
    return JSON.stringify(value);
  }
  return String(value);
}

/** A titled, collapsible part of an analysis tab. */
export function AnalysisSection(props: {
  title: string;
  id: string;
  count?: number | string;
  closed?: boolean;
  actions?: React.ReactNode;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <details
      className={`lc-detail-section lc-analysis-section lc-section-${props.id}`}
      data-section={props.id}
      open={!props.closed}
    >
      <summary>
        <span className="lc-detail-section-title">{props.title}</span>
        {props.count !== undefined && (
          <span className="lc-count">{props.count}</span>
        )}
        {props.actions && (
          <span
            className="lc-section-actions"
            onClick={event => event.stopPropagation()}
          >
            {props.actions}
          </span>
        )}
      </summary>
      <div className="lc-detail-section-body">{props.children}</div>
    </details>
  );
}

/** A colour swatch for a run (dashed past ten runs). */
export function RunSwatch(props: { index: number }): JSX.Element {
  return (
    <span
      className={
        'lc-swatch' + (runDashed(props.index) ? ' lc-swatch-dashed' : '')
      }
      style={{ background: runColor(props.index) }}
      aria-hidden="true"
    />
  );
}
