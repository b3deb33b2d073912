import { ISignal, Signal } from '@lumino/signaling';
import * as React from 'react';

import { HubClient } from '../client_hub';
import { formatAgo, formatDate } from '../format';
import { useDebounced, usePoll, useSignalValue } from '../hooks';
import { IProject } from '../models';
import { ISearchHit, ISearchPage, SEARCH_TYPES } from '../models_hub';
import { labcycleSettings } from '../settings';
import { Snippet } from './HubText';
import { ErrorState, Loading, errorMessage } from './States';

/** Milliseconds of quiet typing before a search is sent. */
export const SEARCH_DEBOUNCE_MS = 250;

const TYPE_LABELS: Record<string, string> = {
  project: 'Project',
  experiment: 'Experiment',
  run: 'Run',
  notebook: 'Notebook',
  note: 'Note',
  model: 'Model',
  model_version: 'Model version',
  dataset: 'Dataset',
  deployment: 'Deployment',
  monitor: 'Monitor'
};

export interface IHubFilters {
  types: string[];
  user: string;
  tag: string;
  since: string;
  until: string;
}

const NO_FILTERS: IHubFilters = {
  types: [],
  user: '',
  tag: '',
  since: '',
  until: ''
};

export interface IHubSectionProps {
  hub: HubClient;
  /** The section is open and on screen. */
  active: boolean;
  refresh: ISignal<unknown, void>;
  /** Fires with a query (or null) when the hub command wants the search box. */
  searchRequested?: ISignal<unknown, string | null>;
  onOpenHit: (hit: ISearchHit) => void;
  onOpenProject: (project: IProject) => void;
  /** Import the file browser's current folder as a project. */
  onImport?: () => void;
  /** Open the audit log tab. */
  onOpenAudit?: () => void;
}

/**
 * The Hub section's options, set by the hub plugin once it is active (the
 * sidebar belongs to the panel plugin, which starts first).
 */
class HubSectionSlot {
  get value(): Omit<IHubSectionProps, 'active' | 'refresh'> | null {
    return this._value;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  set(value: Omit<IHubSectionProps, 'active' | 'refresh'>): void {
    this._value = value;
    this._changed.emit();
  }

  private _value: Omit<IHubSectionProps, 'active' | 'refresh'> | null = null;
  private _changed = new Signal<this, void>(this);
}

export const hubSection = new HubSectionSlot();

/** The hub: full-text search with filters on top, the projects below. */
export function HubSection(props: IHubSectionProps): JSX.Element {
  const { hub, active, refresh } = props;
  const settings = useSignalValue(
    labcycleSettings.changed,
    () => labcycleSettings.current
  );
  const [text, setText] = React.useState('');
  const [filters, setFilters] = React.useState<IHubFilters>(NO_FILTERS);
  const [showFilters, setShowFilters] = React.useState(false);
  const input = React.useRef<HTMLInputElement>(null);

  React.useEffect(() => {
    const signal = props.searchRequested;
    if (!signal) {
      return;
    }
    const onRequest = (_: unknown, query: string | null) => {
      if (query !== null) {
        setText(query);
      }
      window.requestAnimationFrame(() => {
        input.current?.focus();
        input.current?.select();
      });
    };
    signal.connect(onRequest);
    return () => {
      signal.disconnect(onRequest);
    };
  }, [props.searchRequested]);

  const query = useDebounced(
    { q: text.trim(), ...filters },
    SEARCH_DEBOUNCE_MS
  );
  const filtering =
    query.types.length > 0 ||
    Boolean(query.user || query.tag || query.since || query.until);
  const searching = query.q.length > 0 || filtering;

  return (
    <div className="lc-hub-body">
      <div className="lc-search-bar">
        <input
          ref={input}
          type="search"
          className="jp-mod-styled lc-search-input"
          placeholder="Search projects, runs, notebooks, notes, models…"
          aria-label="Search the LabCycle hub"
          value={text}
          onChange={event => setText(event.target.value)}
          onKeyDown={event => {
            if (event.key === 'Escape') {
              setText('');
            }
          }}
        />
        <button
          className={`lc-filter-toggle${filtering ? ' lc-filtering' : ''}`}
          aria-expanded={showFilters}
          title="Filter by type, owner, tag and date"
          onClick={() => setShowFilters(!showFilters)}
        >
          Filters{filtering ? ' •' : ''}
        </button>
      </div>
      {showFilters && (
        <SearchFilters
          filters={filters}
          onChange={setFilters}
          onClear={() => setFilters(NO_FILTERS)}
        />
      )}
      {searching ? (
        <SearchResults
          hub={hub}
          query={query}
          pageSize={settings.searchPageSize}
          active={active}
          refresh={refresh}
          onOpenHit={props.onOpenHit}
        />
      ) : (
        <ProjectsList
          hub={hub}
          active={active}
          refresh={refresh}
          onOpenProject={props.onOpenProject}
          onImport={props.onImport}
          onOpenAudit={props.onOpenAudit}
        />
      )}
    </div>
  );
}

function SearchFilters(props: {
  filters: IHubFilters;
  onChange: (filters: IHubFilters) => void;
  onClear: () => void;
}): JSX.Element {
  const { filters, onChange } = props;
  const set = (change: Partial<IHubFilters>) =>
    onChange({ ...filters, ...change });
  const toggleType = (type: string) =>
    set({
      types: filters.types.includes(type)
        ? filters.types.filter(t => t !== type)
        : [...filters.types, type]
    });
  return (
    <div className="lc-search-filters">
      <div className="lc-type-chips" role="group" aria-label="Types">
        {SEARCH_TYPES.map(type => (
          <button
            key={type}
            className={`lc-chip${filters.types.includes(type) ? ' lc-chip-on' : ''}`}
            data-type={type}
            aria-pressed={filters.types.includes(type)}
            onClick={() => toggleType(type)}
          >
            {TYPE_LABELS[type] ?? type}
          </button>
        ))}
      </div>
      <div className="lc-filter-grid">
        <FilterInput
          label="Owner"
          className="lc-filter-user"
          value={filters.user}
          placeholder="user"
          onChange={value => set({ user: value.trim() })}
        />
        <FilterInput
          label="Tag"
          className="lc-filter-tag"
          value={filters.tag}
          placeholder="key or key=value"
          onChange={value => set({ tag: value.trim() })}
        />
        <FilterInput
          label="Since"
          type="date"
          className="lc-filter-since"
          value={filters.since}
          onChange={value => set({ since: value })}
        />
        <FilterInput
          label="Until"
          type="date"
          className="lc-filter-until"
          value={filters.until}
          onChange={value => set({ until: value })}
        />
      </div>
      <button
        className="lc-link-button lc-clear-filters"
        onClick={props.onClear}
      >
        Clear filters
      </button>
    </div>
  );
}

/** One labelled input of the search filters. */
function FilterInput(props: {
  label: string;
  className: string;
  value: string;
  onChange: (value: string) => void;
  type?: 'date';
  placeholder?: string;
}): JSX.Element {
  return (
    <label>
      {props.label}
      <input
        type={props.type}
        className={`jp-mod-styled ${props.className}`}
        value={props.value}
        placeholder={props.placeholder}
        onChange={event => props.onChange(event.target.value)}
      />
    </label>
  );
}

function SearchResults(props: {
  hub: HubClient;
  query: IHubFilters & { q: string };
  pageSize: number;
  active: boolean;
  refresh: ISignal<unknown, void>;
  onOpenHit: (hit: ISearchHit) => void;
}): JSX.Element {
  const { hub, query, pageSize } = props;
  const key = JSON.stringify(query);
  const fetchFirst = React.useCallback(
    () =>
      hub.search({
        q: query.q || undefined,
        type: query.types,
        user: query.user || undefined,
        tag: query.tag || undefined,
        since: query.since || undefined,
        until: query.until || undefined,
        max_results: pageSize
      }),
    [hub, key, pageSize]
  );
  // Searched once per query (and on refresh), not polled.
  const first = usePoll<ISearchPage>(fetchFirst, {
    interval: 60000,
    active: props.active,
    key: `search:${key}:${pageSize}`,
    refresh: props.refresh,
    done: () => true
  });
  const [more, setMore] = React.useState<ISearchHit[]>([]);
  const [token, setToken] = React.useState<string | null>(null);
  const [moreError, setMoreError] = React.useState<string | null>(null);
  React.useEffect(() => {
    setMore([]);
    setToken(first.data?.next_page_token ?? null);
    setMoreError(null);
  }, [first.data]);

  const loadMore = async () => {
    if (!token) {
      return;
    }
    try {
      const page = await hub.search({
        q: query.q || undefined,
        type: query.types,
        user: query.user || undefined,
        tag: query.tag || undefined,
        since: query.since || undefined,
        until: query.until || undefined,
        max_results: pageSize,
        page_token: token
      });
      setMore(previous => [...previous, ...page.items]);
      setToken(page.next_page_token);
    } catch (reason) {
      setMoreError(errorMessage(reason));
    }
  };

  if (!first.data) {
    return first.error ? (
      <ErrorState
        title="Search failed"
        error={first.error}
        onRetry={first.reload}
      />
    ) : (
      <Loading label="Searching…" />
    );
  }
  const hits = [...first.data.items, ...more];
  if (hits.length === 0) {
    return (
      <div className="lc-hint lc-search-empty">
        Nothing found{query.q ? ` for “${query.q}”` : ''}.
      </div>
    );
  }
  const counts = new Map<string, number>();
  hits.forEach(hit => counts.set(hit.type, (counts.get(hit.type) ?? 0) + 1));
  return (
    <div className="lc-search-results" data-count={hits.length}>
      <div className="lc-search-summary lc-muted">
        {[...counts.entries()]
          .map(([type, n]) => `${n} ${TYPE_LABELS[type] ?? type}`)
          .join(' · ')}
        {token ? ' · more…' : ''}
      </div>
      <ul className="lc-hit-list">
        {hits.map(hit => (
          <HitRow
            key={`${hit.type}:${hit.id}`}
            hit={hit}
            onOpen={props.onOpenHit}
          />
        ))}
      </ul>
      {moreError && (
        <div className="lc-form-error" role="alert">
          {moreError}
        </div>
      )}
      {token && (
        <button
          className="lc-link-button lc-load-more"
          onClick={() => void loadMore()}
        >
          Show more results
        </button>
      )}
    </div>
  );
}

function HitRow(props: {
  hit: ISearchHit;
  onOpen: (hit: ISearchHit) => void;
}): JSX.Element {
  const { hit } = props;
  const open = () => props.onOpen(hit);
  return (
    <li
      className="lc-hit"
      data-type={hit.type}
      data-id={hit.id}
      tabIndex={0}
      role="button"
      onClick={open}
      onKeyDown={event => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          open();
        }
      }}
      title={`Open ${TYPE_LABELS[hit.type] ?? hit.type} ${hit.title}`}
    >
      <div className="lc-hit-head">
        <span className={`lc-type-badge lc-type-${hit.type}`}>
          {TYPE_LABELS[hit.type] ?? hit.type}
        </span>
        <span className="lc-hit-title">{hit.title}</span>
        {hit.status && (
          <span className="lc-hit-status lc-muted">{hit.status}</span>
        )}
      </div>
      {hit.snippet && <Snippet snippet={hit.snippet} className="lc-snippet" />}
      <div className="lc-hit-meta lc-muted">
        {hit.project && hit.type !== 'project' && (
          <span className="lc-hit-project">{hit.project}</span>
        )}
        {hit.owner && <span className="lc-hit-owner">{hit.owner}</span>}
        {hit.updated_at && (
          <span title={formatDate(hit.updated_at)}>
            {formatAgo(hit.updated_at, Date.now())}
          </span>
        )}
      </div>
    </li>
  );
}

function ProjectsList(props: {
  hub: HubClient;
  active: boolean;
  refresh: ISignal<unknown, void>;
  onOpenProject: (project: IProject) => void;
  onImport?: () => void;
  onOpenAudit?: () => void;
}): JSX.Element {
  const fetchProjects = React.useCallback(
    () => props.hub.client.listProjects({}, 500).then(list => list.items),
    [props.hub]
  );
  const projects = usePoll<IProject[]>(fetchProjects, {
    interval: 10000,
    active: props.active,
    key: 'hub-projects',
    refresh: props.refresh
  });
  return (
    <section className="lc-hub-projects" aria-label="Projects">
      <div className="lc-section-title">
        <span className="lc-section-name">Projects</span>
        {projects.data && (
          <span className="lc-count">{projects.data.length}</span>
        )}
        {props.onImport && (
          <button
            className="lc-link-button lc-import-project"
            title="Import the file browser's current folder as a project (its README, git remote)"
            onClick={props.onImport}
          >
            Import folder
          </button>
        )}
        {props.onOpenAudit && (
          <button
            className="lc-link-button lc-open-audit"
            title="The audit log: who changed what, when, with before/after"
            onClick={props.onOpenAudit}
          >
            Audit log
          </button>
        )}
      </div>
      {!projects.data ? (
        projects.error ? (
          <ErrorState
            title="Cannot load projects"
            error={projects.error}
            onRetry={projects.reload}
          />
        ) : (
          <Loading label="Loading projects…" />
        )
      ) : projects.data.length === 0 ? (
        <div className="lc-hint">No projects yet.</div>
      ) : (
        <ul className="lc-project-list">
          {projects.data.map(project => (
            <li
              key={project.id}
              className={`lc-project-item lc-project-${project.status}`}
              data-project-id={project.id}
              tabIndex={0}
              role="button"
              onClick={() => props.onOpenProject(project)}
              onKeyDown={event => {
                if (event.key === 'Enter' || event.key === ' ') {
                  event.preventDefault();
                  props.onOpenProject(project);
                }
              }}
              title={`Open project ${project.name}`}
            >
              <div className="lc-project-line">
                <span className="lc-project-name">{project.name}</span>
                {project.status !== 'active' && (
                  <span className="lc-hub-tag lc-hub-tag-status">
                    {project.status}
                  </span>
                )}
                {(project.tags ?? []).slice(0, 3).map(tag => (
                  <span key={tag} className="lc-hub-tag">
                    {tag}
                  </span>
                ))}
              </div>
              <div className="lc-muted lc-project-sub">
                {(project.owners ?? []).length > 0
                  ? `owners: ${project.owners.join(', ')}`
                  : 'open project'}
                {' · '}
                <span title={formatDate(project.updated_at)}>
                  updated {formatAgo(project.updated_at, Date.now())}
                </span>
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
