/**
 * Typed models of the hub's analysis routes: lineage, run comparison,
 * notebook diff, model version detail and reviews.
 *
 * They mirror `server/responses_lineage.py`, `responses_models.py` and
 * `responses_hub.py` ("Lineage and comparison", "Reviews of model versions"
 * in docs/rest-api.md); keep both in step.
 */
import { MetricValue } from './models';
import { IModelSignature } from './models_jobs';

// ---- lineage ----

export interface ILineageNode {
  /** `type:id`; a notebook snapshot is `notebook:<run_id>/<path>`. */
  id: string;
  type: string;
  entity_id: string;
  title: string | null;
  status: string | null;
  project: string | null;
  project_id: string | null;
  /** REST path relative to `/labcycle/api/v1/`. */
  url_hint: string | null;
  /** 0 for the root, -n upstream, +n downstream. */
  level: number;
  missing?: boolean | null;
}

export interface ILineageEdge {
  source: string;
  target: string;
  relation: string;
  context?: string | null;
  via?: string | null;
}

export type LineageDirection = 'up' | 'down' | 'both';

export interface ILineageGraph {
  root: string;
  direction: LineageDirection;
  depth: number;
  nodes: ILineageNode[];
  edges: ILineageEdge[];
  truncated: boolean;
  max_nodes: number;
}

// ---- run comparison ----

export interface IRunBrief {
  id: string;
  name: string;
  status: string;
  user: string;
  experiment_id: string;
  experiment: string;
  project: string;
  start_time: string | null;
  end_time: string | null;
  duration_s: number | null;
}

export interface ICompareRow {
  key: string;
  /** Run id → value (null when the run lacks it). */
  values: Record<string, unknown>;
  differs: boolean;
}

export interface ICompareTable {
  keys: string[];
  rows: ICompareRow[];
  differing: string[];
  constant: string[];
}

export interface ISeries {
  steps: number[];
  values: MetricValue[];
  points: number;
  downsampled: boolean;
}

export interface IDimension {
  key: string;
  kind: 'numeric' | 'categorical';
  min?: number | null;
  max?: number | null;
  categories?: string[] | null;
}

export interface IParallelRow {
  run_id: string;
  values: Record<string, number | null>;
  metric: MetricValue | null;
}

export interface IParallel {
  metric: string | null;
  metric_range: [number, number] | null;
  dimensions: IDimension[];
  rows: IParallelRow[];
}

export interface IRunComparison {
  run_ids: string[];
  runs: IRunBrief[];
  params: ICompareTable;
  metrics: ICompareTable;
  tags: ICompareTable;
  attributes: ICompareTable;
  packages: {
    differing: Array<{ name: string; values: Record<string, string | null> }>;
    same: number;
  };
  /** Metric key → run id → series. */
  histories: Record<string, Record<string, ISeries>>;
  history_keys_truncated: boolean;
  max_points: number;
  parallel: IParallel;
}

// ---- notebook diff ----

export type CellStatus = 'unchanged' | 'modified' | 'added' | 'removed';

export interface ICellDiff {
  status: CellStatus;
  a_index: number | null;
  b_index: number | null;
  id: string | null;
  cell_type: string;
  cell_type_a?: string | null;
  moved: boolean;
  parameters: boolean;
  source_changed: boolean;
  outputs_changed: boolean;
  source_diff?: string[] | null;
  source_diff_truncated?: boolean | null;
  outputs_diff?: string[] | null;
  outputs_truncated?: boolean | null;
  outputs_note?: string | null;
  source?: string | null;
  source_truncated?: boolean | null;
  outputs_text?: string | null;
  detail_omitted?: boolean | null;
}

export interface IParameterValue {
  name: string;
  a: string | null;
  b: string | null;
  changed: boolean;
}

export interface INotebookDiff {
  run_a: { id: string; name: string; snapshot: string };
  run_b: { id: string; name: string; snapshot: string };
  alignment: 'id' | 'source';
  cells: ICellDiff[];
  summary: Record<string, number>;
  identical: boolean;
  counts: Record<string, number>;
  parameters: {
    a_index: number | null;
    b_index: number | null;
    a_source: string | null;
    b_source: string | null;
    values: IParameterValue[] | null;
    changed: boolean;
  };
  truncated: boolean;
  limits: Record<string, number>;
}

// ---- model version detail and reviews ----

export interface IVersionLineage {
  run_id?: string | null;
  run_name?: string | null;
  experiment_id?: string | null;
  experiment_name?: string | null;
  project_name?: string | null;
  notebook_path?: string | null;
  source?: string | null;
  git_commit?: string | null;
  user?: string | null;
  datasets?: Array<{
    id: string;
    name: string;
    digest: string;
    context: string | null;
  }>;
}

export interface IModelVersionDetail {
  id: string;
  model_id: string;
  model_name: string;
  version: number;
  ref: string;
  flavor: string;
  run_id: string | null;
  artifact_prefix: string;
  files: Array<{ path: string; digest: string; size: number }>;
  signature: IModelSignature | null;
  environment: {
    python?: string;
    packages?: Record<string, string>;
  } | null;
  metrics: Record<string, MetricValue>;
  lineage: IVersionLineage;
  aliases: string[];
  tags: Record<string, string>;
  trusted: boolean;
  status: string;
  description: string;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export type ReviewDecision = 'approve' | 'reject' | 'comment';
export type ReviewState = 'approved' | 'rejected' | 'pending';

export interface IReview {
  id: string;
  model_version_id: string;
  reviewer: string;
  role: string | null;
  decision: ReviewDecision | string;
  comment: string;
  at: string;
  /** An owner's or approver's decision: it sets the state. */
  counts: boolean;
}

export interface IReviewList {
  model_name: string;
  version: number;
  model_version_id: string;
  items: IReview[];
  state: ReviewState | string;
  decided_by: string | null;
  decided_at: string | null;
  approvals: number;
  rejections: number;
  comments: number;
  policy: {
    require_approval: boolean;
    projects: string[];
    requiring_projects: string[];
    approvers: string[];
  };
}
