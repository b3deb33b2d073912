import { ISignal } from '@lumino/signaling';
import * as React from 'react';

import { AnalysisClient } from '../client_analysis';
import { usePoll } from '../hooks';
import { layoutLineage, MARGIN, NODE_H, NODE_W } from '../lineageLayout';
import {
  ILineageGraph,
  ILineageNode,
  LineageDirection
} from '../models_analysis';
import { ErrorState, Loading, RefreshButton } from './States';

/** What a type is called in the legend, in the order data flows. */
export const NODE_TYPES: Array<[string, string]> = [
  ['project', 'Project'],
  ['experiment', 'Experiment'],
  ['dataset', 'Dataset'],
  ['notebook', 'Notebook'],
  ['job', 'Job'],
  ['sweep', 'Sweep'],
  ['schedule', 'Schedule'],
  ['run', 'Run'],
  ['model', 'Model'],
  ['model_version', 'Model version'],
  ['deployment', 'Deployment'],
  ['monitor', 'Monitor']
];

const TYPE_LABEL = Object.fromEntries(NODE_TYPES);

/** A status or health as good / bad / warn / active / neutral. */
export function statusTone(status: string | null | undefined): string {
  switch (status) {
    case 'finished':
    case 'ready':
    case 'ok':
    case 'succeeded':
    case 'approved':
      return 'good';
    case 'failed':
    case 'error':
    case 'drift':
    case 'deleted':
    case 'rejected':
      return 'bad';
    case 'degraded':
    case 'no_data':
    case 'killed':
    case 'cancelled':
    case 'stopped':
      return 'warn';
    case 'running':
    case 'starting':
    case 'pending':
      return 'active';
    default:
      return 'neutral';
  }
}

function clip(text: string, max: number): string {
  return text.length > max ? text.slice(0, max - 1) + '…' : text;
}

export interface ILineageViewProps {
  api: AnalysisClient;
  type: string;
  id: string;
  /** Poll only while the tab is on screen. */
  visible: boolean;
  refresh: ISignal<unknown, void>;
  /**
   * Open a node's own view (run tab, model version tab, snapshot…); false
   * when the type has none (the graph then re-centers on it).
   */
  onOpenNode: (node: ILineageNode) => boolean;
  /** The graph is now centered on another entity (to retitle the tab). */
  onCentered?: (root: ILineageNode | null) => void;
}

/**
 * The lineage graph around an entity: datasets → run → model version →
 * deployment → monitor, left to right. Click a node to open it (or to
 * re-center on it when it has no view of its own); a node's corner button
 * re-centers.
 */
export function LineageView(props: ILineageViewProps): JSX.Element {
  const { api, onCentered } = props;
  const [center, setCenter] = React.useState({
    type: props.type,
    id: props.id
  });
  const [history, setHistory] = React.useState<
    Array<{ type: string; id: string }>
  >([]);
  const [depth, setDepth] = React.useState(3);
  const [direction, setDirection] = React.useState<LineageDirection>('both');
  const fetchGraph = React.useCallback(
    () => api.getLineage(center.type, center.id, { direction, depth }),
    [api, center.type, center.id, direction, depth]
  );
  const state = usePoll<ILineageGraph>(fetchGraph, {
    interval: 15000,
    active: props.visible,
    key: `lineage:${center.type}:${center.id}:${direction}:${depth}`,
    refresh: props.refresh
  });
  const graph = state.data;
  const layout = React.useMemo(
    () => (graph ? layoutLineage(graph.nodes, graph.edges) : null),
    [graph]
  );
  const rootNode = graph?.nodes.find(n => n.id === graph.root) ?? null;
  React.useEffect(() => {
    if (onCentered && graph) {
      onCentered(rootNode);
    }
  }, [graph?.root, rootNode?.title]);

  const recenter = (node: ILineageNode) => {
    if (node.type === 'notebook' || node.missing) {
      return;
    }
    if (node.id === graph?.root) {
      return;
    }
    setHistory(previous => [...previous, center]);
    setCenter({ type: node.type, id: node.entity_id });
  };
  const activate = (node: ILineageNode) => {
    if (!props.onOpenNode(node)) {
      recenter(node);
    }
  };
  const types = graph
    ? NODE_TYPES.filter(([t]) => graph.nodes.some(n => n.type === t))
    : [];

  return (
    <div className="lc-analysis lc-lineage" data-root={graph?.root}>
      <header className="lc-analysis-header">
        <div className="lc-run-title-row">
          <h2 className="lc-run-title">
            Lineage of{' '}
            {rootNode
              ? `${TYPE_LABEL[rootNode.type] ?? rootNode.type} ${rootNode.title ?? rootNode.entity_id}`
              : `${center.type} ${center.id.slice(0, 12)}`}
          </h2>
          <span className="lc-spacer" />
          {history.length > 0 && (
            <button
              className="jp-Button jp-mod-styled lc-lineage-back"
              onClick={() => {
                setCenter(history[history.length - 1]);
                setHistory(history.slice(0, -1));
              }}
            >
              ← Back
            </button>
          )}
          <label className="lc-inline-field">
            Direction{' '}
            <select
              className="jp-mod-styled lc-lineage-direction"
              value={direction}
              onChange={e => setDirection(e.target.value as LineageDirection)}
            >
              <option value="both">Up and down</option>
              <option value="up">Upstream</option>
              <option value="down">Downstream</option>
            </select>
          </label>
          <label className="lc-inline-field">
            Depth{' '}
            <select
              className="jp-mod-styled lc-lineage-depth"
              value={depth}
              onChange={e => setDepth(Number(e.target.value))}
            >
              {Array.from({ length: 10 }, (_, i) => i + 1).map(d => (
                <option key={d} value={d}>
                  {d}
                </option>
              ))}
            </select>
          </label>
          <RefreshButton onClick={state.reload} />
        </div>
        {types.length > 0 && (
          <div className="lc-lineage-legend">
            {types.map(([t, label]) => (
              <span key={t} className={`lc-legend-item lc-node-${t}`}>
                <span className="lc-legend-swatch" />
                {label}
              </span>
            ))}
            <span className="lc-muted">
              Click a node to open it; its corner button centers the graph on
              it.
            </span>
          </div>
        )}
      </header>
      {graph?.truncated && (
        <div
          className="lc-banner lc-banner-warn lc-lineage-truncated"
          role="status"
        >
          The graph is truncated at {graph.max_nodes} nodes: lower the depth or
          center on a nearer entity to see the rest.
        </div>
      )}
      {!graph || !layout ? (
        state.error ? (
          <ErrorState
            title="Cannot load the lineage"
            error={state.error}
            onRetry={state.reload}
          />
        ) : (
          <Loading label="Loading lineage…" />
        )
      ) : (
        <div className="lc-lineage-scroll">
          <svg
            className="lc-lineage-svg"
            width="100%"
            viewBox={`0 0 ${layout.width} ${layout.height + MARGIN}`}
            style={{ maxWidth: layout.width }}
            role="img"
            aria-label={`Lineage graph: ${graph.nodes.length} nodes, ${graph.edges.length} links`}
            data-nodes={graph.nodes.length}
            data-edges={graph.edges.length}
          >
            <defs>
              <marker
                id="lc-arrow"
                viewBox="0 0 10 10"
                refX="9"
                refY="5"
                markerWidth="7"
                markerHeight="7"
                orient="auto-start-reverse"
              >
                <path d="M0,0 L10,5 L0,10 z" className="lc-arrow-head" />
              </marker>
            </defs>
            {layout.edges.map(({ edge, path, back }, i) => (
              <path
                key={i}
                d={path}
                className={
                  'lc-lineage-edge' +
                  (back ? ' lc-edge-back' : '') +
                  (edge.via ? ' lc-edge-via' : '')
                }
                data-relation={edge.relation}
                markerEnd="url(#lc-arrow)"
              >
                <title>
                  {`${edge.relation}${edge.context ? ` (${edge.context})` : ''}`}
                </title>
              </path>
            ))}
            {layout.nodes.map(({ node, x, y }) => {
              const isRoot = node.id === graph.root;
              const tone = statusTone(node.status);
              return (
                <g
                  key={node.id}
                  className={
                    `lc-lineage-node lc-node-${node.type}` +
                    (isRoot ? ' lc-root' : '') +
                    (node.missing ? ' lc-missing' : '')
                  }
                  data-node-id={node.id}
                  data-type={node.type}
                  data-status={node.status ?? undefined}
                  transform={`translate(${x},${y})`}
                  tabIndex={0}
                  role="button"
                  aria-label={`${TYPE_LABEL[node.type] ?? node.type} ${node.title ?? node.entity_id}`}
                  onClick={() => activate(node)}
                  onKeyDown={e => {
                    if (e.key === 'Enter' || e.key === ' ') {
                      e.preventDefault();
                      activate(node);
                    }
                  }}
                >
                  <title>
                    {`${TYPE_LABEL[node.type] ?? node.type}: ${node.title ?? node.entity_id}` +
                      (node.status ? `\nstatus: ${node.status}` : '') +
                      (node.project ? `\nproject: ${node.project}` : '') +
                      `\n${node.entity_id}`}
                  </title>
                  <rect
                    className="lc-node-box"
                    width={NODE_W}
                    height={NODE_H}
                    rx={6}
                  />
                  <rect
                    className="lc-node-band"
                    width={6}
                    height={NODE_H}
                    rx={2}
                  />
                  <text className="lc-node-type" x={14} y={16}>
                    {(TYPE_LABEL[node.type] ?? node.type).toUpperCase()}
                  </text>
                  <text className="lc-node-title" x={14} y={34}>
                    {clip(node.title ?? node.entity_id, 21)}
                  </text>
                  {node.status && (
                    <g className={`lc-node-status lc-tone-${tone}`}>
                      <circle cx={18} cy={49} r={4} />
                      <text x={26} y={53}>
                        {clip(node.status, 16)}
                      </text>
                    </g>
                  )}
                  {!isRoot && node.type !== 'notebook' && !node.missing && (
                    <g
                      className="lc-node-center"
                      role="button"
                      aria-label="Center the graph here"
                      onClick={e => {
                        e.stopPropagation();
                        recenter(node);
                      }}
                    >
                      <title>Center the graph on this node</title>
                      <rect
                        x={NODE_W - 22}
                        y={NODE_H - 22}
                        width={18}
                        height={18}
                        rx={4}
                      />
                      <circle
                        cx={NODE_W - 13}
                        cy={NODE_H - 13}
                        r={4.5}
                        className="lc-center-ring"
                      />
                      <path
                        className="lc-center-cross"
                        d={`M${NODE_W - 13},${NODE_H - 20} v4 M${NODE_W - 13},${NODE_H - 10} v4 M${NODE_W - 20},${NODE_H - 13} h4 M${NODE_W - 10},${NODE_H - 13} h4`}
                      />
                    </g>
                  )}
                </g>
              );
            })}
          </svg>
        </div>
      )}
    </div>
  );
}
