/**
 * Typed models of the hub routes: projects with README, members and
 * activity, notes, search. They mirror `docs/rest-api.md` ("Projects, roles,
 * reviews and audit", "Notes and search").
 */

import { IProject } from './models';

/** A hub entity reference, as every hub route takes it. */
export interface IEntityRef {
  type: string;
  id: string;
}

export type ProjectRole = 'viewer' | 'editor' | 'owner';

/** `GET projects/{id}`: the same project the rest of the panel shows. */
export type IHubProject = IProject;

export interface IUpdateProject {
  name?: string;
  description?: string;
  tags?: string[];
  status?: 'active' | 'archived';
  git_url?: string | null;
}

export interface IMember {
  project_id: string;
  user: string;
  role: ProjectRole;
  added_by: string;
  at: string;
}

export interface IMemberList {
  project_id: string;
  open: boolean;
  items: IMember[];
}

export interface IAuditEvent {
  id: string;
  at: string;
  user: string | null;
  action: string;
  entity_type: string | null;
  entity_id: string | null;
  details: Record<string, unknown> | null;
}

/** `GET audit` filters (all optional; `action` may be a dotted prefix). */
export interface IAuditQuery {
  user?: string;
  action?: string;
  entity_type?: string;
  entity_id?: string;
  /** A project id or name: its events and those of everything in it. */
  project?: string;
  /** ISO-8601 time, date or epoch ms (inclusive). */
  since?: string;
  /** ISO-8601 time, date or epoch ms (exclusive). */
  until?: string;
  max_results?: number;
  page_token?: string;
}

export interface IActivity {
  project_id: string;
  items: IAuditEvent[];
  next_page_token: string | null;
}

export interface IImportedProject {
  project: IHubProject;
  created: boolean;
  readme: string | null;
  git_url: string | null;
}

/** Where a note sits on a run's notebook snapshot. */
export interface INoteAnchor {
  run_id: string;
  artifact?: 'executed.ipynb' | 'notebook.ipynb' | string;
  cell_id?: string | null;
  cell_index?: number | null;
  /** Read only: filled in by the server. */
  cell_type?: string | null;
  excerpt?: string | null;
}

export interface INote {
  id: string;
  entity: IEntityRef;
  project_id: string | null;
  parent_id: string | null;
  /** Markdown, exactly as written. */
  body: string;
  /** Server-side rendering, sanitised (allow-listed tags and links). */
  html: string | null;
  mentions: string[];
  anchor: INoteAnchor | null;
  author: string;
  created_at: string | null;
  updated_at: string | null;
  edited: boolean;
  reply_count: number;
}

export interface ICreateNote {
  body: string;
  entity?: IEntityRef;
  parent_id?: string;
  anchor?: INoteAnchor;
}

export interface INotesQuery {
  entity_type?: string;
  entity_id?: string;
  author?: string;
  mentioned?: string;
  parent_id?: string;
  run_id?: string;
  max_results?: number;
}

/** The types `GET search?type=` knows. */
export const SEARCH_TYPES = [
  'project',
  'experiment',
  'run',
  'notebook',
  'note',
  'model',
  'model_version',
  'dataset',
  'deployment',
  'monitor'
] as const;

export type SearchType = (typeof SEARCH_TYPES)[number];

export interface ISearchHit {
  type: SearchType | string;
  id: string;
  title: string;
  /** HTML-escaped text with `<mark>…</mark>` around matches: no other markup. */
  snippet: string;
  score: number | null;
  project: string | null;
  project_id: string | null;
  owner: string | null;
  status: string | null;
  updated_at: string | null;
  /** REST path relative to `/labcycle/api/v1/`. */
  url: string;
  run_id?: string | null;
  artifact?: string | null;
}

export interface ISearchQuery {
  q?: string;
  type?: string[];
  user?: string;
  tag?: string;
  project?: string;
  since?: string;
  until?: string;
  max_results?: number;
  page_token?: string;
}

export interface ISearchPage {
  items: ISearchHit[];
  next_page_token: string | null;
}
