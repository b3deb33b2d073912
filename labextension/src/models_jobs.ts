/**
 * Typed models of the jobs, sweeps, registry and deployment routes (v1).
 *
 * Payload types are aliases of `./api/schema` (generated from the
 * OpenAPI document, `make api-types`); only free-form JSON fields are narrowed here.
 */
import { MetricValue } from './models';
import { components } from './api/schema';

export type JobStatus = components['schemas']['Job']['status'];

/** A parameter value as JSON. */
export type ParamValue =
  | string
  | number
  | boolean
  | null
  | ParamValue[]
  | { [key: string]: ParamValue };

/** A notebook job; its free-form `parameters` are JSON values. */
export type IJob = Omit<components['schemas']['Job'], 'parameters'> & {
  parameters: Record<string, ParamValue>;
};

/** `POST jobs`. */
type SubmitJob = components['schemas']['SubmitJob'];
export type ISubmitJob = Pick<SubmitJob, 'notebook'> &
  Partial<Pick<SubmitJob, 'experiment' | 'name' | 'timeout_s'>> & {
    parameters?: Record<string, ParamValue>;
  };

export type ISweepProgress = components['schemas']['SweepProgress'];

export type ISweep = components['schemas']['Sweep'];

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

type CreateSweep = components['schemas']['CreateSweep'];
export type ICreateSweep = Pick<CreateSweep, 'notebook'> &
  Partial<
    Pick<
      CreateSweep,
      'n_trials' | 'seed' | 'parallel' | 'experiment' | 'name' | 'timeout_s'
    >
  > & {
    /** Every combination of these values. */
    grid?: Record<string, ParamValue[]>;
    /** `n_trials` seeded draws (each crossed with every grid point). */
    random?: Record<string, RandomSpec>;
    parameters?: Record<string, ParamValue>;
  };

/** `POST runs/{id}/reproduce`. */
export type IReproduceStarted = Omit<
  components['schemas']['ReproduceStarted'],
  'job'
> & {
  job: IJob;
};

export type IRegisteredModel = components['schemas']['RegisteredModel'];

/** Where a model version came from (its run, notebook and datasets). */
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

/**
 * A model version (list and detail alike); the fields the API types as free-form JSON
 * are given the shapes the panel reads.
 */
export type IModelVersion = Omit<
  components['schemas']['ModelVersion'],
  'metrics' | 'lineage' | 'signature' | 'environment'
> & {
  metrics: Record<string, MetricValue>;
  lineage: IVersionLineage;
  signature: IModelSignature | null;
  environment: {
    python?: string;
    packages?: Record<string, string>;
  } | null;
};

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

export type IDeployment = components['schemas']['Deployment'];

/** `POST deployments`. */
type CreateDeployment = components['schemas']['CreateDeployment'];
export type ICreateDeployment = Pick<CreateDeployment, 'model'> &
  Partial<Pick<CreateDeployment, 'name' | 'workers'>>;
