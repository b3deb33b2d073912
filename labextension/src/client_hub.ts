import { LabCycleClient } from './client';
import { getAPI, listPages, sendAPI, QueryValue } from './handler';
import { IPage, IProject } from './models';
import {
  IActivity,
  IAuditEvent,
  IAuditQuery,
  ICreateNote,
  IImportedProject,
  IMember,
  IMemberList,
  INote,
  INoteAnchor,
  INotesQuery,
  ISearchPage,
  ISearchQuery,
  IUpdateProject,
  ProjectRole
} from './models_hub';

/**
 * The hub routes (projects with README/members/activity/import, notes,
 * search) as typed methods, on the same server settings as `LabCycleClient`.
 */
export class HubClient {
  constructor(readonly client: LabCycleClient) {}

  // ---- projects ----

  /** A project by id or by name. */
  getProject(idOrName: string): Promise<IProject> {
    return this._get<IProject>(`projects/${encodeURIComponent(idOrName)}`);
  }

  updateProject(id: string, body: IUpdateProject): Promise<IProject> {
    return this._send<IProject>(
      'PATCH',
      `projects/${encodeURIComponent(id)}`,
      body
    );
  }

  activity(id: string, maxResults = 30): Promise<IActivity> {
    return this._get<IActivity>(`projects/${encodeURIComponent(id)}/activity`, {
      max_results: maxResults
    });
  }

  members(id: string): Promise<IMemberList> {
    return this._get<IMemberList>(`projects/${encodeURIComponent(id)}/members`);
  }

  setMember(id: string, user: string, role: ProjectRole): Promise<IMember> {
    return this._send<IMember>(
      'PUT',
      `projects/${encodeURIComponent(id)}/members/${encodeURIComponent(user)}`,
      { role }
    );
  }

  removeMember(id: string, user: string): Promise<void> {
    return this._send<void>(
      'DELETE',
      `projects/${encodeURIComponent(id)}/members/${encodeURIComponent(user)}`
    );
  }

  /** Import a folder (server-relative; '' is the root) as a project. */
  importProject(path: string, name?: string): Promise<IImportedProject> {
    return this._send<IImportedProject>('POST', 'projects/import', {
      path,
      ...(name ? { name } : {})
    });
  }

  // ---- audit ----

  /** One page of the audit log, newest first. */
  audit(query: IAuditQuery): Promise<IPage<IAuditEvent>> {
    return this._get<IPage<IAuditEvent>>('audit', { ...query });
  }

  // ---- notes ----

  async listNotes(query: INotesQuery, limit = 500): Promise<INote[]> {
    const page = await listPages<INote>(
      'notes',
      { ...query },
      limit,
      this.client.serverSettings
    );
    return page.items;
  }

  createNote(body: ICreateNote): Promise<INote> {
    return this._send<INote>('POST', 'notes', body);
  }

  updateNote(
    id: string,
    body: { body?: string; anchor?: INoteAnchor | null }
  ): Promise<INote> {
    return this._send<INote>('PATCH', `notes/${encodeURIComponent(id)}`, body);
  }

  deleteNote(id: string): Promise<void> {
    return this._send<void>('DELETE', `notes/${encodeURIComponent(id)}`);
  }

  getNote(id: string): Promise<INote> {
    return this._get<INote>(`notes/${encodeURIComponent(id)}`);
  }

  // ---- search ----

  search(query: ISearchQuery): Promise<ISearchPage> {
    const { type, ...rest } = query;
    return this._get<ISearchPage>('search', {
      ...rest,
      type: type && type.length ? type.join(',') : undefined
    });
  }

  private _get<T>(
    endpoint: string,
    query: Record<string, QueryValue> = {}
  ): Promise<T> {
    return getAPI<T>(endpoint, query, this.client.serverSettings);
  }

  private _send<T>(
    method: string,
    endpoint: string,
    body?: unknown
  ): Promise<T> {
    return sendAPI<T>(method, endpoint, body, this.client.serverSettings);
  }
}
