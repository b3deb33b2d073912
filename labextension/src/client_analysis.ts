import { LabCycleClient } from './client';
import { getAPI, requestRaw, sendAPI } from './handler';
import { IDataset } from './models';
import { IRegisteredModel } from './models_jobs';
import {
  ILineageGraph,
  IModelVersionDetail,
  INotebookDiff,
  IReview,
  IReviewList,
  IRunComparison,
  LineageDirection,
  ReviewDecision
} from './models_analysis';

/**
 * The hub's analysis routes (lineage, comparison, notebook diff, model
 * versions and their reviews) as typed methods, over a `LabCycleClient`'s
 * server settings. Errors are `LabCycleAPIError`s carrying the server's
 * message (a 403 names the role needed, a 409 the approval policy).
 */
export class AnalysisClient {
  constructor(readonly client: LabCycleClient) {}

  getLineage(
    type: string,
    id: string,
    options: { direction?: LineageDirection; depth?: number } = {}
  ): Promise<ILineageGraph> {
    return this._get<ILineageGraph>(
      `lineage/${encodeURIComponent(type)}/${encodeURIComponent(id)}`,
      { direction: options.direction, depth: options.depth }
    );
  }

  /** `GET compare/runs` (2–50 runs); `metric` picks the parallel-coordinates metric. */
  compareRuns(
    runIds: string[],
    options: { metric?: string | null; maxPoints?: number } = {}
  ): Promise<IRunComparison> {
    return this._get<IRunComparison>('compare/runs', {
      run_id: runIds,
      metric: options.metric ?? undefined,
      max_points: options.maxPoints
    });
  }

  compareNotebooks(runA: string, runB: string): Promise<INotebookDiff> {
    return this._get<INotebookDiff>('compare/notebooks', {
      run_a: runA,
      run_b: runB
    });
  }

  getModel(name: string): Promise<IRegisteredModel> {
    return this._get<IRegisteredModel>(`models/${encodeURIComponent(name)}`);
  }

  getModelVersion(
    name: string,
    version: number | string
  ): Promise<IModelVersionDetail> {
    return this._get<IModelVersionDetail>(this._version(name, version));
  }

  getDataset(id: string): Promise<IDataset> {
    return this._get<IDataset>(`datasets/${encodeURIComponent(id)}`);
  }

  listReviews(name: string, version: number | string): Promise<IReviewList> {
    return this._get<IReviewList>(`${this._version(name, version)}/reviews`);
  }

  createReview(
    name: string,
    version: number | string,
    decision: ReviewDecision,
    comment: string
  ): Promise<IReview> {
    const body: { decision: ReviewDecision; comment?: string } = { decision };
    if (comment.trim()) {
      body.comment = comment;
    }
    return sendAPI<IReview>(
      'POST',
      `${this._version(name, version)}/reviews`,
      body,
      this.client.serverSettings
    );
  }

  /** The review bundle (self-contained HTML) and the file name the server gives it. */
  async fetchReviewBundle(
    name: string,
    version: number | string
  ): Promise<{ blob: Blob; filename: string }> {
    const response = await requestRaw(
      `${this._version(name, version)}/review-bundle`,
      { method: 'GET' },
      this.client.serverSettings
    );
    const disposition = response.headers.get('Content-Disposition') ?? '';
    const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
    const filename = match
      ? decodeURIComponent(match[1])
      : `${name}-v${version}-review.html`;
    return { blob: await response.blob(), filename };
  }

  private _version(name: string, version: number | string): string {
    return `models/${encodeURIComponent(name)}/versions/${encodeURIComponent(
      String(version)
    )}`;
  }

  private _get<T>(
    endpoint: string,
    query: Record<string, string | string[] | number | undefined> = {}
  ): Promise<T> {
    return getAPI<T>(endpoint, query, this.client.serverSettings);
  }
}
