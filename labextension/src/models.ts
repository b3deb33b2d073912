/**
 * Typed models of the LabCycle REST API (v1).
 *
 * They mirror `docs/rest-api.md`; keep both in step.
 */

/** A metric value as it travels in JSON: non-finite floats are strings. */
export type MetricValue = number | 'NaN' | 'Infinity' | '-Infinity';

/** Lifecycle status of a run. */
export type RunStatus = 'running' | 'finished' | 'failed' | 'killed';

/** Every list route answers with one page of items. */
export interface IPage<T> {
  items: T[];
  next_page_token: string | null;
}

/** `GET version`. */
export interface IVersionInfo {
  version: string;
  api: string;
}

/** The error body of every 4xx/5xx answer. */
export interface IErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    details?: {
      field?: string;
      errors?: Array<{ field: string; message: string; type?: string }>;
      [key: string]: unknown;
    } | null;
  };
}

export type ErrorCode =
  | 'not_found'
  | 'conflict'
  | 'invalid_input'
  | 'forbidden'
  | 'unauthorized'
  | 'method_not_allowed'
  | 'too_large'
  | 'internal';

export interface IProject {
  id: string;
  name: string;
  description: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface IExperiment {
  id: string;
  project_id: string;
  project_name: string;
  name: string;
  description: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
  run_count: number;
  last_run_at: string | null;
}

export interface IRun {
  id: string;
  experiment_id: string;
  parent_run_id: string | null;
  name: string | null;
  status: RunStatus;
  user: string | null;
  start_time: string;
  end_time: string | null;
  duration_s: number | null;
  notebook_path: string | null;
  source: 'notebook' | 'script' | 'job' | string | null;
  params: Record<string, string>;
  metrics: Record<string, MetricValue>;
  tags: Record<string, string>;
}

export interface IGitInfo {
  remote: string | null;
  commit: string | null;
  branch: string | null;
  dirty: boolean | null;
  diff: string | null;
}

export interface IDataset {
  id: string;
  name: string;
  digest: string;
  schema: Record<string, string> | null;
  row_count: number | null;
  source: string | null;
  content_digest?: string | null;
  created_by: string | null;
  created_at: string;
}

export interface IRunDataset {
  dataset: IDataset;
  context: string | null;
}

export interface IRunDetail extends IRun {
  experiment_name?: string | null;
  project_name?: string | null;
  kernel: string | null;
  git: Partial<IGitInfo> | null;
  python_version: string | null;
  packages: Record<string, string> | null;
  out_of_order: boolean | null;
  datasets: IRunDataset[];
  metric_keys: string[];
  artifact_count: number;
  cell_count: number;
}

export interface IMetricPoint {
  step: number;
  value: MetricValue;
  /** Client time, ms since the epoch. */
  timestamp: number;
  /** Server receive time, ms since the epoch. */
  server_time: number;
}

export interface IMetricHistory {
  key: string;
  points: IMetricPoint[];
}

export interface IArtifact {
  run_id: string;
  path: string;
  digest: string;
  size: number;
  media_type: string | null;
  created_at: string;
}

export interface ICellExecution {
  seq: number;
  execution_count: number | null;
  cell_id: string | null;
  source: string;
  started_at: string;
  duration_ms: number | null;
  status: 'ok' | 'error';
  error: string | null;
}

/** `{"items": [...]}` without pagination (artifacts, cells). */
export interface IItems<T> {
  items: T[];
}

/** Query of `GET runs`. */
export interface IListRunsQuery {
  experiment_id?: string | string[];
  filter?: string;
  order_by?: string;
  max_results?: number;
}
