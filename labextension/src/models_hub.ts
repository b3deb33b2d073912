/**
 * Typed models of the hub routes: projects with README, members and
 * activity, notes, search. Payload types are aliases of `./api/schema` (generated from the
 * OpenAPI document, `make api-types`); only free-form JSON fields are narrowed here.
 */

import { components } from './api/schema';
import { QueryOf } from './models';

/** A hub entity reference, as every hub route takes it. */
export type IEntityRef = components['schemas']['EntityRef'];

export type ProjectRole = 'viewer' | 'editor' | 'owner';

/** `PATCH projects/{id}`: the fields to change. */
export type IUpdateProject = Partial<components['schemas']['UpdateProject']>;

export type IMember = components['schemas']['Member'];

export type IMemberList = components['schemas']['MemberList'];

export type IAuditEvent = components['schemas']['AuditEvent'];

/** `GET audit` filters (all optional; `action` may be a dotted prefix). */
export type IAuditQuery = QueryOf<'list_audit_events'>;

export type IActivity = components['schemas']['Activity'];

export type IImportedProject = components['schemas']['ImportedProject'];

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

/** A note; its free-form `anchor` is what the panel writes and reads. */
export type INote = Omit<components['schemas']['Note'], 'anchor'> & {
  anchor: INoteAnchor | null;
};

/** `POST notes`: the body, and what the note is about or answers. */
export type ICreateNote = Pick<components['schemas']['CreateNote'], 'body'> &
  Partial<Pick<components['schemas']['CreateNote'], 'entity' | 'parent_id'>> & {
    anchor?: INoteAnchor;
  };

export type INotesQuery = QueryOf<'list_notes'>;

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

export type ISearchHit = components['schemas']['SearchHit'];

export type ISearchQuery = QueryOf<'search'>;

export type ISearchPage = components['schemas']['SearchResults'];
