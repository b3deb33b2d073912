import { ServerConnection } from '@jupyterlab/services';

import {
  apiUrl,
  encodePath,
  getAPI,
  listPages,
  QueryValue,
  requestRaw,
  sendAPI
} from './handler';
import {
  IArtifact,
  ICellExecution,
  IExperiment,
  IItems,
  IListRunsQuery,
  IMetricHistory,
  IPage,
  IProject,
  IRun,
  IRunDetail,
  IVersionInfo
} from './models';
import {
  ICreateDeployment,
  ICreateSweep,
  IDeployment,
  IJob,
  IModelVersion,
  IRegisteredModel,
  IReproduceStarted,
  ISubmitJob,
  ISweep
} from './models_jobs';
import {
  IAlertEvent,
  ICheckBrief,
  ICreateMonitor,
  IMonitor,
  IUpdateMonitor
} from './models_monitors';

/** A list truncated at the client's limit says so. */
export interface IListResult<T> {
  items: T[];
  truncated: boolean;
  /** Where the listing stopped: pass it on to load the next items. */
  nextPageToken?: string | null;
}

/**
 * The LabCycle REST API as typed methods.
 *
 * It fetches data and throws `LabCycleAPIError`; deciding how to show an
 * error is the UI's business.
 */
export class LabCycleClient {
  constructor(
    readonly serverSettings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  /** `GET version`: also tells whether the server extension is there. */
  getVersion(): Promise<IVersionInfo> {
    return this._get<IVersionInfo>('version');
  }

  /** Projects, optionally filtered by status, tag or member (the hub's filters). */
  listProjects(
    query: { status?: string; tag?: string; member?: string } = {},
    limit = 1000
  ): Promise<IListResult<IProject>> {
    return this._listAll<IProject>('projects', query, limit);
  }

  /** Experiments of one project, or of every project. */
  listExperiments(
    projectId?: string,
    limit = 1000
  ): Promise<IListResult<IExperiment>> {
    return this._listAll<IExperiment>(
      'experiments',
      { project_id: projectId },
      limit
    );
  }

  /** Runs, newest first unless `query.order_by` says otherwise. */
  listRuns(query: IListRunsQuery, limit = 500): Promise<IListResult<IRun>> {
    const { max_results, ...rest } = query;
    return this._listAll<IRun>(
      'runs',
      { order_by: 'start_time DESC', ...rest },
      max_results ?? limit
    );
  }

  /** The runs after those of a listing that returned `pageToken`. */
  listMoreRuns(
    query: IListRunsQuery,
    pageToken: string,
    limit = 1000
  ): Promise<IListResult<IRun>> {
    return listPages<IRun>(
      'runs',
      { order_by: 'start_time DESC', ...query },
      limit,
      this.serverSettings,
      pageToken
    );
  }

  getRun(runId: string): Promise<IRunDetail> {
    return this._get<IRunDetail>(`runs/${encodeURIComponent(runId)}`);
  }

  getMetricHistory(runId: string, key: string): Promise<IMetricHistory> {
    return this._get<IMetricHistory>(
      `runs/${encodeURIComponent(runId)}/metrics/${encodeURIComponent(key)}`
    );
  }

  async listArtifacts(runId: string): Promise<IArtifact[]> {
    const page = await this._get<IItems<IArtifact>>(
      `runs/${encodeURIComponent(runId)}/artifacts`
    );
    return page.items;
  }

  async listCells(runId: string): Promise<ICellExecution[]> {
    const page = await this._get<IItems<ICellExecution>>(
      `runs/${encodeURIComponent(runId)}/cells`
    );
    return page.items;
  }

  /** The URL that downloads an artifact (the browser sends the auth cookie). */
  artifactUrl(runId: string, path: string): string {
    return apiUrl(this._artifactEndpoint(runId, path), {}, this.serverSettings);
  }

  /** The content of an artifact, as text. */
  async fetchArtifactText(runId: string, path: string): Promise<string> {
    const response = await requestRaw(
      this._artifactEndpoint(runId, path),
      {},
      this.serverSettings
    );
    return response.text();
  }

  // ---- notebook jobs and sweeps ----

  /** Recent jobs, newest first. */
  async listJobs(maxResults = 50): Promise<IJob[]> {
    const page = await this._get<IPage<IJob>>('jobs', {
      max_results: maxResults
    });
    return page.items;
  }

  submitJob(body: ISubmitJob): Promise<IJob> {
    return this._send<IJob>('POST', 'jobs', body);
  }

  cancelJob(jobId: string): Promise<IJob> {
    return this._send<IJob>('POST', `jobs/${encodeURIComponent(jobId)}/cancel`);
  }

  async listSweeps(maxResults = 20): Promise<ISweep[]> {
    const page = await this._get<IPage<ISweep>>('sweeps', {
      max_results: maxResults
    });
    return page.items;
  }

  createSweep(body: ICreateSweep): Promise<ISweep> {
    return this._send<ISweep>('POST', 'sweeps', body);
  }

  cancelSweep(sweepId: string): Promise<ISweep> {
    return this._send<ISweep>(
      'POST',
      `sweeps/${encodeURIComponent(sweepId)}/cancel`
    );
  }

  reproduceRun(runId: string): Promise<IReproduceStarted> {
    return this._send<IReproduceStarted>(
      'POST',
      `runs/${encodeURIComponent(runId)}/reproduce`,
      {}
    );
  }

  // ---- model registry and deployments ----

  listModels(limit = 200): Promise<IListResult<IRegisteredModel>> {
    return this._listAll<IRegisteredModel>('models', {}, limit);
  }

  async listModelVersions(name: string, limit = 50): Promise<IModelVersion[]> {
    const page = await this._get<IPage<IModelVersion>>(
      `models/${encodeURIComponent(name)}/versions`,
      { max_results: limit }
    );
    return page.items;
  }

  setModelAlias(
    name: string,
    alias: string,
    version: number
  ): Promise<IModelVersion> {
    return this._send<IModelVersion>(
      'PUT',
      `models/${encodeURIComponent(name)}/aliases/${encodeURIComponent(alias)}`,
      { version }
    );
  }

  async listDeployments(maxResults = 50): Promise<IDeployment[]> {
    const page = await this._get<IPage<IDeployment>>('deployments', {
      max_results: maxResults
    });
    return page.items;
  }

  createDeployment(body: ICreateDeployment): Promise<IDeployment> {
    return this._send<IDeployment>('POST', 'deployments', body);
  }

  /** Change workers or start/stop (`desired`). */
  updateDeployment(
    id: string,
    body: { workers?: number; desired?: 'running' | 'stopped' }
  ): Promise<IDeployment> {
    return this._send<IDeployment>(
      'PATCH',
      `deployments/${encodeURIComponent(id)}`,
      body
    );
  }

  stopDeployment(id: string): Promise<IDeployment> {
    return this._send<IDeployment>(
      'DELETE',
      `deployments/${encodeURIComponent(id)}`
    );
  }

  // ---- monitors ----

  async listMonitors(maxResults = 200): Promise<IMonitor[]> {
    const page = await this._get<IPage<IMonitor>>('monitors', {
      max_results: maxResults
    });
    return page.items;
  }

  createMonitor(body: ICreateMonitor): Promise<IMonitor> {
    return this._send<IMonitor>('POST', 'monitors', body);
  }

  updateMonitor(id: string, body: IUpdateMonitor): Promise<IMonitor> {
    return this._send<IMonitor>(
      'PATCH',
      `monitors/${encodeURIComponent(id)}`,
      body
    );
  }

  /** The drift timeline: checks newest first, per-feature scores included. */
  async listMonitorChecks(id: string, maxResults = 30): Promise<ICheckBrief[]> {
    const page = await this._get<IPage<ICheckBrief>>(
      `monitors/${encodeURIComponent(id)}/checks`,
      { max_results: maxResults }
    );
    return page.items;
  }

  /** Run a check now; answers with the check once it is done. */
  runMonitorCheck(id: string): Promise<ICheckBrief> {
    return this._send<ICheckBrief>(
      'POST',
      `monitors/${encodeURIComponent(id)}/checks`
    );
  }

  async listMonitorAlerts(id: string, maxResults = 20): Promise<IAlertEvent[]> {
    const page = await this._get<IPage<IAlertEvent>>(
      `monitors/${encodeURIComponent(id)}/alerts`,
      { max_results: maxResults }
    );
    return page.items;
  }

  private _send<T>(
    method: string,
    endpoint: string,
    body?: unknown
  ): Promise<T> {
    return sendAPI<T>(method, endpoint, body, this.serverSettings);
  }

  private _artifactEndpoint(runId: string, path: string): string {
    return `runs/${encodeURIComponent(runId)}/artifacts/${encodePath(path)}`;
  }

  private _get<T>(
    endpoint: string,
    query: Record<string, string | number | undefined> = {}
  ): Promise<T> {
    return getAPI<T>(endpoint, query, this.serverSettings);
  }

  /** Follow `next_page_token` until the list ends or `limit` items are read. */
  private _listAll<T>(
    endpoint: string,
    query: Record<string, QueryValue>,
    limit: number
  ): Promise<IListResult<T>> {
    return listPages<T>(endpoint, query, limit, this.serverSettings);
  }
}
