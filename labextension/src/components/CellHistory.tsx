import * as React from 'react';

import { firstLine, formatDate, formatDuration } from '../format';
import { useToggleSet } from '../hooks';
import { ICellExecution } from '../models';
import { activateOnKey } from './ProjectTree';

/** Non-empty lines of a cell beyond the one shown. */
function extraLines(source: string): number {
  return Math.max(0, source.split('\n').filter(l => l.trim()).length - 1);
}

/** Rows rendered at first; the rest on demand. */
const PAGE = 200;

/** The cells the run executed, in order; a row expands to the full source. */
export function CellHistory(props: { cells: ICellExecution[] }): JSX.Element {
  const [expanded, toggle] = useToggleSet<number>();
  const [limit, setLimit] = React.useState(PAGE);
  const cells = React.useMemo(
    () => [...props.cells].sort((a, b) => a.seq - b.seq),
    [props.cells]
  );
  const errors = cells.filter(c => c.status === 'error').length;

  if (cells.length === 0) {
    return (
      <div className="lc-cells">
        <div className="lc-muted">No cell executions recorded.</div>
      </div>
    );
  }
  return (
    <div className="lc-cells">
      <div className="lc-cells-summary lc-muted">
        {cells.length} execution{cells.length > 1 ? 's' : ''}
        {errors > 0 && (
          <span className="lc-error-text">
            {' '}
            · {errors} error{errors > 1 ? 's' : ''}
          </span>
        )}
      </div>
      <ol className="lc-cell-list">
        {cells.slice(0, limit).map(cell => {
          const open = expanded.has(cell.seq);
          const toggleThis = () => toggle(cell.seq);
          return (
            <li
              key={cell.seq}
              className={
                `lc-cell-row lc-cell-${cell.status}` + (open ? ' lc-open' : '')
              }
              data-seq={cell.seq}
              data-status={cell.status}
            >
              <div
                className="lc-cell-line"
                role="button"
                aria-expanded={open}
                tabIndex={0}
                onClick={toggleThis}
                onKeyDown={event => activateOnKey(event, toggleThis)}
                title={`Started ${formatDate(cell.started_at)}${cell.cell_id ? `\nCell ${cell.cell_id}` : ''}`}
              >
                <span className="lc-cell-count">
                  [{cell.execution_count ?? ' '}]
                </span>
                <span
                  className={`lc-cell-status lc-cell-status-${cell.status}`}
                  title={cell.status}
                  aria-label={cell.status}
                >
                  {cell.status === 'ok' ? '✓' : '✕'}
                </span>
                <code className="lc-cell-source">
                  {firstLine(cell.source) || ' '}
                </code>
                {extraLines(cell.source) > 0 && (
                  <span className="lc-cell-more" title="Lines not shown">
                    +{extraLines(cell.source)} line
                    {extraLines(cell.source) > 1 ? 's' : ''}
                  </span>
                )}
                <span className="lc-cell-duration">
                  {cell.duration_ms === null
                    ? '—'
                    : formatDuration(cell.duration_ms / 1000)}
                </span>
              </div>
              {open && (
                <div className="lc-cell-body">
                  <pre className="lc-code">{cell.source}</pre>
                  {cell.error && (
                    <pre className="lc-code lc-cell-traceback">
                      {cell.error}
                    </pre>
                  )}
                </div>
              )}
            </li>
          );
        })}
      </ol>
      {cells.length > limit && (
        <button
          className="lc-link-button"
          onClick={() => setLimit(limit + PAGE)}
        >
          Show {Math.min(PAGE, cells.length - limit)} more of{' '}
          {cells.length - limit}
        </button>
      )}
    </div>
  );
}
