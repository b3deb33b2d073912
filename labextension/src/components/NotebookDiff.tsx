import * as React from 'react';

import { AnalysisClient } from '../client_analysis';
import { usePoll } from '../hooks';
import { ICellDiff, INotebookDiff, IRunBrief } from '../models_analysis';
import { ErrorState, Loading } from './States';

/** A piece of a line: same in both versions, or changed. */
export interface ISegment {
  text: string;
  changed: boolean;
}

const TOKEN = /\w+|\s+|[^\w\s]/g;
/** Above this many token pairs a line pair is compared by prefix and suffix only. */
const MAX_PAIRS = 40000;

function merge(segments: ISegment[]): ISegment[] {
  const out: ISegment[] = [];
  for (const s of segments) {
    const last = out[out.length - 1];
    if (last && last.changed === s.changed) {
      last.text += s.text;
    } else if (s.text) {
      out.push({ ...s });
    }
  }
  return out;
}

/**
 * The intraline difference of two versions of a line, by words and
 * punctuation (a longest common subsequence of tokens): what is only in
 * `a`, and what is only in `b`, marked `changed`.
 */
export function intraline(a: string, b: string): [ISegment[], ISegment[]] {
  const ta = a.match(TOKEN) ?? [];
  const tb = b.match(TOKEN) ?? [];
  if (ta.length * tb.length > MAX_PAIRS) {
    let p = 0;
    while (p < a.length && p < b.length && a[p] === b[p]) {
      p++;
    }
    let s = 0;
    while (
      s < a.length - p &&
      s < b.length - p &&
      a[a.length - 1 - s] === b[b.length - 1 - s]
    ) {
      s++;
    }
    const cut = (t: string): ISegment[] =>
      merge([
        { text: t.slice(0, p), changed: false },
        { text: t.slice(p, t.length - s), changed: true },
        { text: t.slice(t.length - s), changed: false }
      ]);
    return [cut(a), cut(b)];
  }
  // lcs[i][j]: length of the LCS of ta[i:] and tb[j:].
  const lcs: number[][] = Array.from({ length: ta.length + 1 }, () =>
    new Array<number>(tb.length + 1).fill(0)
  );
  for (let i = ta.length - 1; i >= 0; i--) {
    for (let j = tb.length - 1; j >= 0; j--) {
      lcs[i][j] =
        ta[i] === tb[j]
          ? lcs[i + 1][j + 1] + 1
          : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const outA: ISegment[] = [];
  const outB: ISegment[] = [];
  let i = 0;
  let j = 0;
  while (i < ta.length || j < tb.length) {
    if (i < ta.length && j < tb.length && ta[i] === tb[j]) {
      outA.push({ text: ta[i++], changed: false });
      outB.push({ text: tb[j++], changed: false });
    } else if (
      j < tb.length &&
      (i >= ta.length || lcs[i][j + 1] >= lcs[i + 1][j])
    ) {
      outB.push({ text: tb[j++], changed: true });
    } else {
      outA.push({ text: ta[i++], changed: true });
    }
  }
  return [merge(outA), merge(outB)];
}

interface IDiffLine {
  kind: 'hunk' | 'context' | 'del' | 'add';
  text: string;
  segments?: ISegment[];
}

/**
 * Parse unified diff lines and pair each run of removed lines with the added
 * lines that follow it, so a changed line shows what changed inside it.
 */
export function diffLines(lines: string[]): IDiffLine[] {
  const out: IDiffLine[] = [];
  let k = 0;
  while (k < lines.length) {
    const line = lines[k];
    if (line.startsWith('@@')) {
      out.push({ kind: 'hunk', text: line });
      k++;
    } else if (line.startsWith('-')) {
      const dels: string[] = [];
      while (k < lines.length && lines[k].startsWith('-')) {
        dels.push(lines[k++].slice(1));
      }
      const adds: string[] = [];
      while (k < lines.length && lines[k].startsWith('+')) {
        adds.push(lines[k++].slice(1));
      }
      const pairs = dels.map((d, i) =>
        i < adds.length ? intraline(d, adds[i]) : null
      );
      dels.forEach((d, i) =>
        out.push({ kind: 'del', text: d, segments: pairs[i]?.[0] })
      );
      adds.forEach((a, i) =>
        out.push({ kind: 'add', text: a, segments: pairs[i]?.[1] })
      );
    } else if (line.startsWith('+')) {
      out.push({ kind: 'add', text: line.slice(1) });
      k++;
    } else {
      out.push({
        kind: 'context',
        text: line.startsWith(' ') ? line.slice(1) : line
      });
      k++;
    }
  }
  return out;
}

function DiffBlock(props: {
  lines: string[];
  className: string;
  truncated?: boolean | null;
}): JSX.Element {
  const parsed = React.useMemo(() => diffLines(props.lines), [props.lines]);
  const sign = { hunk: '', context: ' ', del: '−', add: '+' };
  return (
    <pre className={`lc-diff ${props.className}`}>
      {parsed.map((line, i) => (
        <div key={i} className={`lc-diff-line lc-diff-${line.kind}`}>
          <span className="lc-diff-sign" aria-hidden="true">
            {sign[line.kind]}
          </span>
          {line.segments
            ? line.segments.map((s, k) =>
                s.changed ? (
                  <mark key={k} className="lc-diff-intraline">
                    {s.text}
                  </mark>
                ) : (
                  <React.Fragment key={k}>{s.text}</React.Fragment>
                )
              )
            : line.text || ' '}
        </div>
      ))}
      {props.truncated && (
        <div className="lc-diff-line lc-muted">… diff cut (too long)</div>
      )}
    </pre>
  );
}

function CellCard(props: { cell: ICellDiff }): JSX.Element {
  const { cell } = props;
  const where =
    cell.status === 'added'
      ? `B[${cell.b_index}]`
      : cell.status === 'removed'
        ? `A[${cell.a_index}]`
        : cell.a_index === cell.b_index
          ? `[${cell.b_index}]`
          : `A[${cell.a_index}] → B[${cell.b_index}]`;
  return (
    <li
      className={`lc-cell-diff lc-cell-${cell.status}${cell.parameters ? ' lc-cell-parameters' : ''}`}
      data-status={cell.status}
      data-cell-id={cell.id ?? undefined}
    >
      <div className="lc-cell-diff-head">
        <span className={`lc-cell-badge lc-cell-badge-${cell.status}`}>
          {cell.status}
        </span>
        <span className="lc-muted">
          {cell.cell_type}
          {cell.cell_type_a && cell.cell_type_a !== cell.cell_type
            ? ` (was ${cell.cell_type_a})`
            : ''}{' '}
          cell {where}
        </span>
        {cell.parameters && (
          <span className="lc-tag lc-tag-params" title="The parameters cell">
            parameters
          </span>
        )}
        {cell.moved && <span className="lc-tag">moved</span>}
        {cell.status === 'modified' && (
          <span className="lc-muted lc-cell-changes">
            {[
              cell.source_changed && 'source',
              cell.outputs_changed && 'outputs'
            ]
              .filter(Boolean)
              .join(' and ')}{' '}
            changed
          </span>
        )}
      </div>
      {cell.detail_omitted && (
        <div className="lc-muted">
          Details left out (too many changed cells).
        </div>
      )}
      {cell.source_diff && cell.source_diff.length > 0 && (
        <DiffBlock
          lines={cell.source_diff}
          className="lc-source-diff"
          truncated={cell.source_diff_truncated}
        />
      )}
      {cell.outputs_diff && cell.outputs_diff.length > 0 && (
        <>
          <div className="lc-diff-label">Outputs</div>
          <DiffBlock
            lines={cell.outputs_diff}
            className="lc-outputs-diff"
            truncated={cell.outputs_truncated}
          />
        </>
      )}
      {cell.outputs_note && <div className="lc-muted">{cell.outputs_note}</div>}
      {cell.source !== null && cell.source !== undefined && (
        <pre className={`lc-diff lc-cell-source lc-diff-whole-${cell.status}`}>
          {cell.source || ' '}
        </pre>
      )}
      {cell.outputs_text && (
        <>
          <div className="lc-diff-label">Outputs</div>
          <pre className="lc-diff lc-cell-outputs">{cell.outputs_text}</pre>
        </>
      )}
    </li>
  );
}

/** A folded stretch of unchanged cells. */
function Unchanged(props: { count: number; onShow: () => void }): JSX.Element {
  return (
    <li className="lc-cell-diff lc-cell-folded">
      <button className="lc-link-button" onClick={props.onShow}>
        {props.count} unchanged cell{props.count > 1 ? 's' : ''}
      </button>
    </li>
  );
}

/**
 * The cell-by-cell diff of two runs' notebook snapshots: pick the baseline
 * (A) and the other run (B); the parameters cell is called out first.
 */
export function NotebookDiff(props: {
  api: AnalysisClient;
  runs: IRunBrief[];
  labels: Record<string, string>;
}): JSX.Element {
  const { api, runs } = props;
  const [a, setA] = React.useState(runs[0]?.id ?? '');
  const [b, setB] = React.useState(runs[1]?.id ?? '');
  const [showAll, setShowAll] = React.useState(false);
  const fetchDiff = React.useMemo(
    () => (a && b && a !== b ? () => api.compareNotebooks(a, b) : null),
    [api, a, b]
  );
  const diff = usePoll<INotebookDiff>(fetchDiff, {
    interval: 60000,
    active: false,
    key: `nbdiff:${a}:${b}`,
    done: () => true
  });
  // Fetch once per pair (usePoll only fetches while active or when asked).
  const reload = diff.reload;
  React.useEffect(() => {
    if (fetchDiff) {
      reload();
    }
  }, [fetchDiff, reload]);

  const picker = (
    value: string,
    set: (id: string) => void,
    label: string,
    cls: string
  ) => (
    <label>
      {label}{' '}
      <select
        className={`jp-mod-styled ${cls}`}
        value={value}
        onChange={event => set(event.target.value)}
      >
        {runs.map(run => (
          <option key={run.id} value={run.id}>
            {props.labels[run.id] ?? run.id}
          </option>
        ))}
      </select>
    </label>
  );

  let body: React.ReactNode;
  if (a === b) {
    body = <div className="lc-muted">Pick two different runs.</div>;
  } else if (!diff.data) {
    body = diff.error ? (
      <ErrorState
        title="Cannot diff these snapshots"
        error={diff.error}
        onRetry={diff.reload}
      />
    ) : (
      <Loading label="Diffing notebooks…" />
    );
  } else {
    const d = diff.data;
    const items: React.ReactNode[] = [];
    let folded = 0;
    const flush = (key: string) => {
      if (folded > 0) {
        items.push(
          <Unchanged key={key} count={folded} onShow={() => setShowAll(true)} />
        );
        folded = 0;
      }
    };
    d.cells.forEach((cell, i) => {
      if (cell.status === 'unchanged' && !cell.moved && !showAll) {
        folded++;
        return;
      }
      flush(`fold-${i}`);
      items.push(<CellCard key={i} cell={cell} />);
    });
    flush('fold-end');
    const params = d.parameters;
    body = (
      <>
        <div className="lc-nbdiff-summary">
          <span>
            <code>{d.run_a.snapshot}</code> of{' '}
            <b>{props.labels[d.run_a.id] ?? d.run_a.name}</b> (A, {d.counts.a}{' '}
            cells) → <code>{d.run_b.snapshot}</code> of{' '}
            <b>{props.labels[d.run_b.id] ?? d.run_b.name}</b> (B, {d.counts.b}{' '}
            cells)
          </span>
          {d.identical ? (
            <span className="lc-tag">identical</span>
          ) : (
            ['modified', 'added', 'removed', 'moved', 'unchanged'].map(k =>
              d.summary[k] ? (
                <span
                  key={k}
                  className={`lc-cell-badge lc-cell-badge-${k}`}
                  data-count={d.summary[k]}
                >
                  {d.summary[k]} {k}
                </span>
              ) : null
            )
          )}
          <label className="lc-nbdiff-all">
            <input
              type="checkbox"
              checked={showAll}
              onChange={event => setShowAll(event.target.checked)}
            />{' '}
            Show unchanged cells
          </label>
        </div>
        {params.values && params.values.length > 0 && (
          <div
            className={`lc-nbdiff-params${params.changed ? ' lc-changed' : ''}`}
          >
            <div className="lc-diff-label">
              Parameters cell {params.changed ? '(changed)' : '(same values)'}
            </div>
            <table className="lc-table lc-kv-table">
              <thead>
                <tr>
                  <th>Parameter</th>
                  <th>A</th>
                  <th>B</th>
                </tr>
              </thead>
              <tbody>
                {params.values.map(v => (
                  <tr
                    key={v.name}
                    className={v.changed ? 'lc-differs' : undefined}
                    data-key={v.name}
                  >
                    <td className="lc-key">{v.name}</td>
                    <td>
                      <code>{v.a ?? '—'}</code>
                    </td>
                    <td>
                      <code>{v.b ?? '—'}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {d.truncated && (
          <div className="lc-banner lc-banner-warn" role="status">
            Very large notebooks: only the first {d.limits.max_detailed_cells}{' '}
            changed cells have details.
          </div>
        )}
        <ol className="lc-cell-diffs">{items}</ol>
      </>
    );
  }

  return (
    <div className="lc-nbdiff">
      <div className="lc-nbdiff-controls">
        {picker(a, setA, 'A (baseline)', 'lc-nbdiff-a')}
        <button
          className="lc-link-button lc-nbdiff-swap"
          title="Swap A and B"
          onClick={() => {
            setA(b);
            setB(a);
          }}
        >
          ⇄
        </button>
        {picker(b, setB, 'B', 'lc-nbdiff-b')}
      </div>
      {body}
    </div>
  );
}
