/**
 * A layered left-to-right layout of a lineage graph: longest-path layering
 * (sources pulled next to what they feed), then barycentre ordering within
 * the layers. Small and dependency-free: lineage graphs are tens of nodes.
 */
import { ILineageEdge, ILineageNode } from './models_analysis';

export const NODE_W = 164;
export const NODE_H = 62;
export const GAP_X = 48;
export const GAP_Y = 18;
export const MARGIN = 16;

export interface IPlacedNode {
  node: ILineageNode;
  layer: number;
  order: number;
  x: number;
  y: number;
}

export interface ILayout {
  nodes: IPlacedNode[];
  edges: Array<{ edge: ILineageEdge; path: string; back: boolean }>;
  width: number;
  height: number;
}

/** Types in the order the data flows, to break ties in a layer. */
const TYPE_ORDER = [
  'project',
  'experiment',
  'dataset',
  'notebook',
  'sweep',
  'schedule',
  'job',
  'run',
  'model',
  'model_version',
  'deployment',
  'monitor'
];

function typeRank(type: string): number {
  const i = TYPE_ORDER.indexOf(type);
  return i < 0 ? TYPE_ORDER.length : i;
}

/** Layer of each node: its longest path from a source; cycles are broken. */
export function assignLayers(
  ids: string[],
  edges: ILineageEdge[]
): Map<string, number> {
  const known = new Set(ids);
  const preds = new Map<string, string[]>(ids.map(id => [id, []]));
  const succs = new Map<string, string[]>(ids.map(id => [id, []]));
  for (const e of edges) {
    if (known.has(e.source) && known.has(e.target) && e.source !== e.target) {
      preds.get(e.target)!.push(e.source);
      succs.get(e.source)!.push(e.target);
    }
  }
  const layer = new Map<string, number>();
  const onStack = new Set<string>();
  const visit = (id: string): number => {
    const done = layer.get(id);
    if (done !== undefined) {
      return done;
    }
    onStack.add(id);
    let best = 0;
    for (const p of preds.get(id)!) {
      if (!onStack.has(p)) {
        best = Math.max(best, visit(p) + 1);
      }
    }
    onStack.delete(id);
    layer.set(id, best);
    return best;
  };
  ids.forEach(visit);
  // A source sits just left of the nearest node it feeds (no long edges
  // from datasets at layer 0 to a run far right).
  for (const id of ids) {
    const after = succs.get(id)!.map(s => layer.get(s)!);
    if (preds.get(id)!.length === 0 && after.length > 0) {
      const nearest = Math.min(...after) - 1;
      if (nearest > layer.get(id)!) {
        layer.set(id, nearest);
      }
    }
  }
  return layer;
}

/** Lay a lineage graph out left to right. */
export function layoutLineage(
  nodes: ILineageNode[],
  edges: ILineageEdge[]
): ILayout {
  const ids = nodes.map(n => n.id);
  const byId = new Map(nodes.map(n => [n.id, n]));
  const layerOf = assignLayers(ids, edges);
  const layerCount = Math.max(0, ...layerOf.values()) + 1;
  const layers: string[][] = Array.from({ length: layerCount }, () => []);
  for (const id of ids) {
    layers[layerOf.get(id)!].push(id);
  }
  for (const layer of layers) {
    layer.sort((a, b) => {
      const na = byId.get(a)!;
      const nb = byId.get(b)!;
      return (
        typeRank(na.type) - typeRank(nb.type) ||
        (na.title ?? '').localeCompare(nb.title ?? '') ||
        a.localeCompare(b)
      );
    });
  }
  const neighbours = new Map<string, string[]>(ids.map(id => [id, []]));
  for (const e of edges) {
    if (byId.has(e.source) && byId.has(e.target)) {
      neighbours.get(e.source)!.push(e.target);
      neighbours.get(e.target)!.push(e.source);
    }
  }
  // Barycentre sweeps: order each layer by the mean position of its
  // neighbours in the layer before (left to right), then after.
  const position = new Map<string, number>();
  const place = () =>
    layers.forEach(layer =>
      layer.forEach((id, i) => position.set(id, (i + 0.5) / layer.length))
    );
  place();
  const sweep = (from: number, to: number, step: number, side: number) => {
    for (let l = from; l !== to; l += step) {
      const layer = layers[l];
      const score = new Map<string, number>();
      layer.forEach(id => {
        const near = neighbours
          .get(id)!
          .filter(n => layerOf.get(n) === l + side);
        score.set(
          id,
          near.length
            ? near.reduce((s, n) => s + position.get(n)!, 0) / near.length
            : position.get(id)!
        );
      });
      layer.sort((a, b) => score.get(a)! - score.get(b)!);
      layer.forEach((id, i) => position.set(id, (i + 0.5) / layer.length));
    }
  };
  for (let k = 0; k < 4; k++) {
    sweep(1, layerCount, 1, -1);
    sweep(layerCount - 2, -1, -1, 1);
  }

  const tallest = Math.max(1, ...layers.map(l => l.length));
  const height = MARGIN * 2 + tallest * NODE_H + (tallest - 1) * GAP_Y;
  const width =
    MARGIN * 2 + layerCount * NODE_W + Math.max(0, layerCount - 1) * GAP_X;
  const placed = new Map<string, IPlacedNode>();
  layers.forEach((layer, l) => {
    const span = layer.length * NODE_H + (layer.length - 1) * GAP_Y;
    const top = (height - span) / 2;
    layer.forEach((id, i) =>
      placed.set(id, {
        node: byId.get(id)!,
        layer: l,
        order: i,
        x: MARGIN + l * (NODE_W + GAP_X),
        y: top + i * (NODE_H + GAP_Y)
      })
    );
  });
  const routed = edges
    .filter(e => placed.has(e.source) && placed.has(e.target))
    .map(edge => {
      const s = placed.get(edge.source)!;
      const t = placed.get(edge.target)!;
      const back = t.layer <= s.layer;
      const x1 = back ? s.x + NODE_W / 2 : s.x + NODE_W;
      const y1 = back ? s.y + NODE_H : s.y + NODE_H / 2;
      const x2 = back ? t.x + NODE_W / 2 : t.x;
      const y2 = back ? t.y + NODE_H : t.y + NODE_H / 2;
      const bend = back ? 40 : Math.max(30, (x2 - x1) / 2);
      const path = back
        ? `M${x1},${y1} C${x1},${y1 + bend} ${x2},${y2 + bend} ${x2},${y2}`
        : `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`;
      return { edge, path, back };
    });
  return { nodes: [...placed.values()], edges: routed, width, height };
}
