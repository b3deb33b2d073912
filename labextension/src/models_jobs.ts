/**
 * Typed models of the jobs, sweeps, registry and deployment routes (v1).
 *
 * They mirror `docs/rest-api.md` ("Notebook jobs", "Model registry",
 * "Sweeps, schedules, reproduce", "Deployments"); keep both in step.
 */
import { MetricValue } from './models';

export type JobStatus =
  'pending' | 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** A parameter value as JSON. */
export type ParamValue =
  | string
  | number
  | boolean
  | null
  | ParamValue[]
  | { [key: string]: ParamValue };

export interface IJob {
  id: string;
  name: string;
  status: JobStatus;
  notebook: string;
  parameters: Record<string, ParamValue>;
  experiment: string | null;
  project: string | null;
  timeout_s: number | null;
  sweep_id: string | null;
  schedule_id: string | null;
  reproduces_run_id: string | null;
  run_id: string | null;
  progress: { cell: number | null; total: number | null };
  cancel_requested: boolean;
  error: string | null;
  error_detail: Record<string, unknown> | null;
  created_by: string;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  ended_at: string | null;
}

/** `POST jobs`. */
export interface ISubmitJob {
  notebook: string;
  parameters?: Record<string, ParamValue>;
  experiment?: string;
  name?: string;
  timeout_s?: number;
}

export interface ISweepProgress {
  total: number;
  not_submitted: number;
  pending: number;
  queued?: number;
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  done: number;
}

export interface ISweep {
  id: string;
  name: string;
  notebook: string;
  experiment: string | null;
  project: string | null;
  status: 'running' | 'succeeded' | 'failed' | 'cancelled';
  parallel: number;
  n_trials: number;
  progress: ISweepProgress;
  error: string | null;
  created_at: string;
  ended_at: string | null;
}

/** `POST sweeps` with a grid. */
/**
 * One parameter of a random search, in the service's format
 * (`services/sweep_space.py`): a range or a list of choices.
 */
export type RandomSpec =
  | {
      distribution: 'uniform' | 'loguniform' | 'randint';
      low: number;
      high: number;
    }
  | { distribution: 'choice'; values: ParamValue[] };

export interface ICreateSweep {
  notebook: string;
  /** Every combination of these values. */
  grid?: Record<string, ParamValue[]>;
  /** `n_trials` seeded draws (each crossed with every grid point). */
  random?: Record<string, RandomSpec>;
  n_trials?: number;
  seed?: number;
  parameters?: Record<string, ParamValue>;
  parallel?: number;
  experiment?: string;
  name?: string;
  timeout_s?: number;
}

/** `POST runs/{id}/reproduce`. */
export interface IReproduceStarted {
  original_run_id: string;
  job: IJob;
}

export interface IRegisteredModel {
  id: string;
  name: string;
  description: string;
  tags: Record<string, string>;
  aliases: Record<string, number>;
  latest_version: number | null;
  version_count: number;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface IModelVersion {
  id: string;
  model_name: string;
  version: number;
  ref: string;
  flavor: string;
  run_id: string | null;
  metrics: Record<string, MetricValue>;
  lineage: {
    run_name?: string | null;
    experiment_name?: string | null;
    notebook_path?: string | null;
  };
  signature: IModelSignature | null;
  aliases: string[];
  trusted: boolean;
  status: string;
  description: string;
  created_by: string;
  created_at: string;
}

export interface IModelSignature {
  input_type?: string;
  inputs: Array<{
    name: string;
    dtype: string;
    nullable?: boolean;
    min?: number | null;
    max?: number | null;
    categories?: unknown[] | null;
  }>;
  outputs?: Array<{ name: string; dtype: string }>;
}

export type DeploymentStatus = 'starting' | 'ready' | 'failed' | 'stopped';

export interface IDeployment {
  id: string;
  name: string;
  model_ref: string;
  model_name: string;
  traffic: Record<string, number> | null;
  host: string;
  port: number;
  workers: number;
  desired: 'running' | 'stopped' | string;
  status: DeploymentStatus | string;
  url: string;
  api_key_required: boolean;
  error: string | null;
  restarts: number;
  created_at: number;
  started_at: number | null;
  api_key?: string | null;
  curl_example?: string | null;
  /** Not in the API yet: shown when a server provides them. */
  try_url?: string | null;
  request_rate?: number | null;
  latency_ms?: number | null;
}

/** `POST deployments`. */
export interface ICreateDeployment {
  model: string;
  name?: string;
  workers?: number;
}
