import {
  assignLayers,
  GAP_X,
  layoutLineage,
  MARGIN,
  NODE_H,
  NODE_W
} from '../src/lineageLayout';
import { ILineageEdge, ILineageNode } from '../src/models_analysis';

function node(id: string, type = id.split(':')[0]): ILineageNode {
  return {
    id,
    type,
    entity_id: id.split(':')[1] ?? id,
    title: id,
    status: null,
    project: null,
    project_id: null,
    url_hint: null,
    missing: null,
    level: 0
  };
}

function edge(source: string, target: string): ILineageEdge {
  return { source, target, relation: 'used', context: null, via: null };
}

describe('assignLayers', () => {
  it('layers by longest path and pulls sources next to what they feed', () => {
    const layers = assignLayers(
      ['dataset:a', 'run:1', 'model:m', 'dataset:late'],
      [
        edge('dataset:a', 'run:1'),
        edge('run:1', 'model:m'),
        edge('dataset:late', 'model:m')
      ]
    );
    expect(layers.get('dataset:a')).toBe(0);
    expect(layers.get('run:1')).toBe(1);
    expect(layers.get('model:m')).toBe(2);
    expect(layers.get('dataset:late')).toBe(1);
  });

  it('breaks cycles and ignores self-loops and edges to unknown nodes', () => {
    const layers = assignLayers(
      ['run:a', 'run:b'],
      [
        edge('run:a', 'run:b'),
        edge('run:b', 'run:a'),
        edge('run:a', 'run:a'),
        edge('run:a', 'run:ghost')
      ]
    );
    expect([...layers.keys()].sort()).toEqual(['run:a', 'run:b']);
    expect(new Set(layers.values()).size).toBe(2);
  });
});

describe('layoutLineage', () => {
  it('places layers left to right and routes forward edges', () => {
    const layout = layoutLineage(
      [node('dataset:a'), node('run:1'), node('run:2'), node('model:m')],
      [
        edge('dataset:a', 'run:1'),
        edge('dataset:a', 'run:2'),
        edge('run:1', 'model:m')
      ]
    );
    const byId = new Map(layout.nodes.map(p => [p.node.id, p]));
    expect(byId.get('dataset:a')!.x).toBe(MARGIN);
    expect(byId.get('run:1')!.x).toBe(MARGIN + NODE_W + GAP_X);
    expect(byId.get('model:m')!.layer).toBe(2);
    expect(layout.width).toBe(MARGIN * 2 + 3 * NODE_W + 2 * GAP_X);
    // two runs stacked in layer 1 set the height
    expect(layout.height).toBe(MARGIN * 2 + 2 * NODE_H + 18);
    const ys = [byId.get('run:1')!.y, byId.get('run:2')!.y].sort(
      (a, b) => a - b
    );
    expect(ys[1] - ys[0]).toBe(NODE_H + 18);
    expect(layout.edges).toHaveLength(3);
    expect(layout.edges.every(e => !e.back)).toBe(true);
    expect(layout.edges[0].path).toMatch(/^M\d+(\.\d+)?,\d+(\.\d+)? C/);
  });

  it('marks an edge that goes backwards and drops edges to missing nodes', () => {
    const layout = layoutLineage(
      [node('run:a'), node('run:b')],
      [edge('run:a', 'run:b'), edge('run:b', 'run:a'), edge('run:a', 'x:y')]
    );
    expect(layout.edges).toHaveLength(2);
    expect(layout.edges.filter(e => e.back)).toHaveLength(1);
  });

  it('lays out an empty graph without failing', () => {
    const layout = layoutLineage([], []);
    expect(layout.nodes).toEqual([]);
    expect(layout.width).toBe(MARGIN * 2 + NODE_W);
  });
});
