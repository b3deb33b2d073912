import * as React from 'react';

import { formatDate } from '../format';
import { ICheckBrief } from '../models_monitors';

/** Bar width and gap of the timeline, in SVG units (the chart scales to fit). */
const BAR = 10;
const GAP = 3;
const HEIGHT = 44;
/** Features shown in the per-feature strip (the most drifted first). */
const MAX_FEATURES = 6;

const pct = (value: number) => `${Math.round(value * 100)}%`;

/** One line per check for the bar's tooltip. */
function checkTitle(check: ICheckBrief): string {
  const share =
    check.share_drifted === null || check.share_drifted === undefined
      ? ''
      : ` · ${pct(check.share_drifted)} of features drifted`;
  return `${formatDate(check.started_at)} · ${check.status}${share}\n${check.summary || check.error || ''}`.trim();
}

/**
 * The drift timeline of a monitor: one bar per check (oldest left), its
 * height the share of drifted features, its colour (and pattern) the
 * check's status; a dashed line marks the drift-share threshold. Below it, a
 * strip per feature marks the checks where that feature drifted.
 */
export function DriftTimeline(props: {
  /** Newest first, as `GET monitors/{id}/checks` answers. */
  checks: ICheckBrief[];
  driftShare: number | null;
  /** A check to outline (the one just run). */
  highlightId?: string | null;
}): JSX.Element {
  const checks = [...props.checks].reverse();
  if (checks.length === 0) {
    return (
      <div className="lc-drift-timeline lc-muted" data-checks={0}>
        No checks yet: the timeline fills as checks run.
      </div>
    );
  }
  const width = checks.length * (BAR + GAP) - GAP;
  // A few checks make wide bars, many make thin ones; never wider than the card.
  const maxWidth = `${Math.max(width * 4, 180)}px`;
  const threshold = props.driftShare ?? 0.5;
  const thresholdY = HEIGHT - threshold * HEIGHT;

  // Per-feature strip: the features that drifted most often, then the rest.
  const drifts = new Map<string, number>();
  for (const check of checks) {
    for (const [name, col] of Object.entries(check.columns ?? {})) {
      drifts.set(name, (drifts.get(name) ?? 0) + (col.drifted ? 1 : 0));
    }
  }
  const features = [...drifts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, MAX_FEATURES)
    .map(([name]) => name);

  return (
    <div
      className="lc-drift-timeline"
      data-checks={checks.length}
      aria-label={`Drift timeline: ${checks.length} checks`}
    >
      <div className="lc-timeline-row">
        <span className="lc-timeline-axis lc-muted" aria-hidden="true">
          <span>100%</span>
          <span>0%</span>
        </span>
        <svg
          className="lc-timeline-chart"
          viewBox={`0 0 ${Math.max(width, 1)} ${HEIGHT}`}
          preserveAspectRatio="none"
          role="img"
          style={{ maxWidth }}
        >
          <rect
            className="lc-timeline-bg"
            x={0}
            y={0}
            width={Math.max(width, 1)}
            height={HEIGHT}
          />
          {checks.map((check, i) => {
            const share = check.share_drifted ?? 0;
            // A check without a verdict still shows: a stub at the baseline.
            const h = Math.max(share * HEIGHT, 2);
            return (
              <rect
                key={check.id}
                className={`lc-timeline-bar lc-check-${check.status}${check.id === props.highlightId ? ' lc-timeline-new' : ''}`}
                data-check-id={check.id}
                data-status={check.status}
                x={i * (BAR + GAP)}
                y={HEIGHT - h}
                width={BAR}
                height={h}
              >
                <title>{checkTitle(check)}</title>
              </rect>
            );
          })}
          <line
            className="lc-timeline-threshold"
            x1={0}
            x2={Math.max(width, 1)}
            y1={thresholdY}
            y2={thresholdY}
          >
            <title>Drift threshold: {pct(threshold)} of features</title>
          </line>
        </svg>
      </div>
      {features.length > 0 && (
        <div className="lc-feature-strips">
          {features.map(name => (
            <div className="lc-feature-strip" key={name} data-feature={name}>
              <span className="lc-feature-name" title={name}>
                {name}
              </span>
              <svg
                className="lc-feature-cells"
                viewBox={`0 0 ${Math.max(width, 1)} 6`}
                preserveAspectRatio="none"
                style={{ maxWidth }}
              >
                {checks.map((check, i) => {
                  const col = check.columns?.[name];
                  const state = !col
                    ? 'none'
                    : col.drifted
                      ? 'drifted'
                      : 'stable';
                  return (
                    <rect
                      key={check.id}
                      className={`lc-feature-cell lc-feature-${state}`}
                      x={i * (BAR + GAP)}
                      y={0}
                      width={BAR}
                      height={6}
                    >
                      <title>
                        {`${name} · ${formatDate(check.started_at)} · ${state}` +
                          (col?.score !== null && col?.score !== undefined
                            ? ` (score ${col.score.toPrecision(3)})`
                            : '')}
                      </title>
                    </rect>
                  );
                })}
              </svg>
            </div>
          ))}
        </div>
      )}
      <div className="lc-timeline-legend lc-muted">
        <span>
          <span className="lc-legend-swatch lc-check-ok" /> ok
        </span>
        <span>
          <span className="lc-legend-swatch lc-check-drift" /> drift
        </span>
        <span>
          <span className="lc-legend-swatch lc-check-degraded" /> degraded
        </span>
        <span>
          <span className="lc-legend-line" /> threshold {pct(threshold)}
        </span>
      </div>
    </div>
  );
}
