/**
 * Typed models of the hub's analysis routes: lineage, run comparison,
 * notebook diff, model version detail and reviews.
 *
 * Payload types are aliases of `./api/schema` (generated from the
 * OpenAPI document, `make api-types`); only free-form JSON fields are narrowed here.
 */
import { IModelVersion } from './models_jobs';
import { components } from './api/schema';

// ---- lineage ----

export type ILineageNode = components['schemas']['LineageNode'];

export type ILineageEdge = components['schemas']['LineageEdge'];

export type LineageDirection = 'up' | 'down' | 'both';

export type ILineageGraph = components['schemas']['LineageGraph'];

// ---- run comparison ----

export type IRunBrief = components['schemas']['RunBrief'];

export type ICompareRow = components['schemas']['CompareRow'];

export type ICompareTable = components['schemas']['CompareTable'];

export type ISeries = components['schemas']['Series'];

export type IDimension = components['schemas']['Dimension'];

export type IParallelRow = components['schemas']['ParallelRow'];

export type IParallel = components['schemas']['Parallel'];

export type IRunComparison = components['schemas']['RunComparison'];

// ---- notebook diff ----

export type CellStatus = 'unchanged' | 'modified' | 'added' | 'removed';

export type ICellDiff = components['schemas']['CellDiff'];

export type IParameterValue = components['schemas']['ParameterValue'];

export type INotebookDiff = components['schemas']['NotebookDiff'];

// ---- model version detail and reviews ----

/** `GET models/{name}/versions/{version}`: the same shape as a listed version. */
export type IModelVersionDetail = IModelVersion;

export type ReviewDecision = 'approve' | 'reject' | 'comment';
export type ReviewState = 'approved' | 'rejected' | 'pending';

export type IReview = components['schemas']['Review'];

export type IReviewList = components['schemas']['ReviewList'];
