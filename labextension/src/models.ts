/**
 * Typed models of the LabCycle REST API (v1).
 *
 * Every payload type is an alias of `./api/schema`, generated from the server's OpenAPI
 * document by `make api-types` (the server's models are the source; `make frontend-test`
 * fails when they drift). Only free-form JSON fields are narrowed here to the shapes the
 * panel reads; types the UI alone uses are written by hand.
 */
import { components, operations } from './api/schema';

/** The query parameters of a route, as the OpenAPI document declares them. */
export type QueryOf<K extends keyof operations> = NonNullable<
  operations[K]['parameters']['query']
>;

/** A metric value as it travels in JSON: non-finite floats are strings. */
export type MetricValue = components['schemas']['MetricPointOut']['value'];

/** Lifecycle status of a run. */
export type RunStatus = components['schemas']['Run']['status'];

/** Every list route answers with one page of items. */
export interface IPage<T> {
  items: T[];
  next_page_token: string | null;
}

/** `GET version`. */
export type IVersionInfo = components['schemas']['Version'];

/** The error body of every 4xx/5xx answer. */
export type IErrorBody = {
  error: Omit<components['schemas']['ErrorInfo'], 'code' | 'details'> & {
    code: ErrorCode;
    details?: {
      field?: string;
      errors?: Array<{ field: string; message: string; type?: string }>;
      [key: string]: unknown;
    } | null;
  };
};

export type ErrorCode =
  | 'not_found'
  | 'conflict'
  | 'invalid_input'
  | 'forbidden'
  | 'unauthorized'
  | 'method_not_allowed'
  | 'too_large'
  | 'internal';

/** A project as the API returns it (generated from the OpenAPI document). */
export type IProject = components['schemas']['Project'];

export type IExperiment = components['schemas']['Experiment'];

export type IRun = components['schemas']['Run'];

export type IGitInfo = components['schemas']['GitInfo'];

export type IDataset = components['schemas']['Dataset'];

export type IRunDataset = components['schemas']['DatasetUse'];

export type IRunDetail = components['schemas']['RunDetail'];

export type IMetricPoint = components['schemas']['MetricPointOut'];

export type IMetricHistory = components['schemas']['MetricHistory'];

export type IArtifact = components['schemas']['Artifact'];

export type ICellExecution = components['schemas']['CellExecution'];

/** `{"items": [...]}` without pagination (artifacts, cells). */
export interface IItems<T> {
  items: T[];
}

/** Query of `GET runs`. */
export type IListRunsQuery = QueryOf<'search_runs'>;
