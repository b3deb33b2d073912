import { ISignal } from '@lumino/signaling';
import * as React from 'react';

import { HubClient } from '../client_hub';
import { formatAgo, formatDate, shortId } from '../format';
import { useDebounced, usePoll, useToggleSet } from '../hooks';
import { IPage } from '../models';
import { IAuditEvent, IAuditQuery } from '../models_hub';
import { ErrorState, Loading, StaleBanner } from './States';

/** Events per page of the table. */
export const AUDIT_PAGE_SIZE = 50;
/** How often the open page is re-read while the tab is visible (ms). */
export const AUDIT_POLL_MS = 15000;
/** Quiet typing before a filter applies (ms). */
const FILTER_DEBOUNCE_MS = 300;

/** The filters as the user types them (dates `YYYY-MM-DD`, `until` inclusive). */
export interface IAuditFilters {
  user: string;
  action: string;
  entity_type: string;
  entity_id: string;
  project: string;
  since: string;
  until: string;
}

export const NO_AUDIT_FILTERS: IAuditFilters = {
  user: '',
  action: '',
  entity_type: '',
  entity_id: '',
  project: '',
  since: '',
  until: ''
};

/** Entity types of the hub, for the filter's suggestions. */
const ENTITY_TYPES = [
  'project',
  'experiment',
  'run',
  'model',
  'model_version',
  'dataset',
  'deployment',
  'monitor',
  'job',
  'sweep',
  'schedule',
  'note'
];

/** Action prefixes worth suggesting (any dotted prefix works). */
const ACTION_PREFIXES = [
  'project',
  'project.member',
  'experiment',
  'run',
  'model',
  'model.alias',
  'model.version',
  'model.version.review',
  'dataset',
  'job',
  'sweep',
  'schedule',
  'monitor',
  'note',
  'artifact'
];

/** Filters from command args (unknown keys and non-strings are dropped). */
export function auditFiltersFrom(
  args: Partial<Record<string, unknown>>
): IAuditFilters {
  const filters = { ...NO_AUDIT_FILTERS };
  for (const key of Object.keys(filters) as (keyof IAuditFilters)[]) {
    const value = args[key];
    if (typeof value === 'string') {
      filters[key] = value.trim();
    }
  }
  return filters;
}

/** A local calendar date `YYYY-MM-DD` as the ISO time of its midnight. */
export function localMidnight(date: string, addDays = 0): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!match) {
    return undefined;
  }
  const day = new Date(
    Number(match[1]),
    Number(match[2]) - 1,
    Number(match[3]) + addDays
  );
  return isNaN(day.getTime()) ? undefined : day.toISOString();
}

/** The `GET audit` query of the filters (the until date counts whole). */
export function auditQuery(filters: IAuditFilters): IAuditQuery {
  const text = (value: string) => value.trim() || undefined;
  return {
    user: text(filters.user),
    action: text(filters.action),
    entity_type: text(filters.entity_type),
    entity_id: text(filters.entity_id),
    project: text(filters.project),
    since: filters.since ? localMidnight(filters.since) : undefined,
    until: filters.until ? localMidnight(filters.until, 1) : undefined
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when an event's details record a change as `before` and `after`. */
export function hasBeforeAfter(
  details: IAuditEvent['details']
): details is Record<string, unknown> & { before: unknown; after: unknown } {
  return isRecord(details) && 'before' in details && 'after' in details;
}

/** A short human name of an event's entity, from what its details carry. */
export function entityLabel(event: IAuditEvent): string {
  const d = isRecord(event.details) ? event.details : {};
  const str = (value: unknown) =>
    typeof value === 'string' || typeof value === 'number'
      ? String(value)
      : null;
  const model = str(d.model);
  if (event.entity_type === 'model_version' && model && str(d.version)) {
    return `${model} v${str(d.version)}`;
  }
  if (event.entity_type === 'model' && (model || str(d.name))) {
    return (model ?? str(d.name)) as string;
  }
  return str(d.name) ?? shortId(event.entity_id);
}

/** A one-line summary of what the details say (alias moves, updates…). */
export function eventSummary(event: IAuditEvent): string {
  const d = isRecord(event.details) ? event.details : null;
  if (!d) {
    return '';
  }
  const show = (value: unknown): string =>
    value === null || value === undefined
      ? '—'
      : isRecord(value) || Array.isArray(value)
        ? '{…}'
        : String(value);
  if (typeof d.alias === 'string' && 'before' in d && 'after' in d) {
    return `@${d.alias}: ${show(d.before)} → ${show(d.after)}`;
  }
  if (hasBeforeAfter(d)) {
    if (isRecord(d.before) && isRecord(d.after)) {
      const changed = changedKeys(d.before, d.after);
      return changed.length ? `changed ${changed.join(', ')}` : 'no change';
    }
    return `${show(d.before)} → ${show(d.after)}`;
  }
  const keys = Object.keys(d);
  return keys.length ? keys.slice(0, 4).join(', ') : '';
}

function changedKeys(
  before: Record<string, unknown>,
  after: Record<string, unknown>
): string[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  return keys.filter(
    key => JSON.stringify(before[key]) !== JSON.stringify(after[key])
  );
}

function formatValue(value: unknown): string {
  if (value === undefined) {
    return '';
  }
  if (typeof value === 'string') {
    return value;
  }
  return JSON.stringify(value, null, 2) ?? String(value);
}

export interface IAuditViewProps {
  hub: HubClient;
  /** The filters to start with (or set again by the command). */
  filters: IAuditFilters;
  /** Bumped when the command sets new filters on an open tab. */
  filtersKey: number;
  visible: boolean;
  refresh: ISignal<unknown, void>;
  onFiltersChanged: (filters: IAuditFilters) => void;
  /** Can the entity of this event be opened in a tab? */
  canOpen: (event: IAuditEvent) => boolean;
  onOpenEntity: (event: IAuditEvent) => void;
}

/** The audit log: filters, a page of events, each expandable. */
export function AuditView(props: IAuditViewProps): JSX.Element {
  const { hub, onFiltersChanged } = props;
  const [draft, setDraft] = React.useState<IAuditFilters>(props.filters);
  const [applied, setApplied] = React.useState<IAuditFilters>(props.filters);
  // Tokens of the pages before the current one; the current page's token.
  const [history, setHistory] = React.useState<(string | null)[]>([]);
  const [token, setToken] = React.useState<string | null>(null);
  const [expanded, toggle] = useToggleSet<number>();

  // The command opened the tab again with other filters: take them at once.
  React.useEffect(() => {
    setDraft(props.filters);
    setApplied(props.filters);
  }, [props.filtersKey]);

  // Typing settles before the query is sent (Enter sends it at once).
  const settled = useDebounced(draft, FILTER_DEBOUNCE_MS);
  const settledKey = JSON.stringify(settled);
  React.useEffect(() => setApplied(settled), [settledKey]);

  const appliedKey = JSON.stringify(applied);
  React.useEffect(() => {
    setHistory([]);
    setToken(null);
    onFiltersChanged(applied);
  }, [appliedKey]);

  const query = React.useMemo(() => auditQuery(applied), [appliedKey]);
  const fetchPage = React.useCallback(
    () =>
      hub.audit({
        ...query,
        max_results: AUDIT_PAGE_SIZE,
        page_token: token ?? undefined
      }),
    [hub, query, token]
  );
  const page = usePoll<IPage<IAuditEvent>>(fetchPage, {
    interval: AUDIT_POLL_MS,
    active: props.visible,
    key: `audit:${appliedKey}:${token ?? ''}`,
    refresh: props.refresh
  });

  const set = (change: Partial<IAuditFilters>) =>
    setDraft(previous => ({ ...previous, ...change }));
  const filtering = Object.values(applied).some(Boolean);
  const first = history.length * AUDIT_PAGE_SIZE;
  const items = page.data?.items ?? [];

  return (
    <div
      className="lc-audit-view"
      data-filters={appliedKey}
      data-count={page.data ? items.length : undefined}
    >
      <header className="lc-audit-header">
        <h2 className="lc-audit-title">Audit log</h2>
        <span className="lc-muted">
          Who changed what, when — every write, with its before and after.
        </span>
        <span className="lc-spacer" />
        <button
          className="jp-Button jp-mod-styled lc-audit-refresh"
          onClick={page.reload}
        >
          Refresh
        </button>
      </header>
      <form
        className="lc-audit-filters"
        aria-label="Audit filters"
        onSubmit={event => {
          event.preventDefault();
          setApplied(draft);
        }}
      >
        <AuditInput
          label="User"
          name="user"
          value={draft.user}
          placeholder="who"
          onChange={value => set({ user: value })}
        />
        <AuditInput
          label="Action"
          name="action"
          value={draft.action}
          placeholder="e.g. model.alias"
          list="lc-audit-actions"
          onChange={value => set({ action: value })}
        />
        <AuditInput
          label="Entity type"
          name="entity_type"
          value={draft.entity_type}
          placeholder="run, model…"
          list="lc-audit-types"
          onChange={value => set({ entity_type: value })}
        />
        <AuditInput
          label="Entity id"
          name="entity_id"
          value={draft.entity_id}
          placeholder="id"
          onChange={value => set({ entity_id: value })}
        />
        <AuditInput
          label="Project"
          name="project"
          value={draft.project}
          placeholder="name or id"
          onChange={value => set({ project: value })}
        />
        <AuditInput
          label="Since"
          name="since"
          type="date"
          value={draft.since}
          onChange={value => set({ since: value })}
        />
        <AuditInput
          label="Until"
          name="until"
          type="date"
          value={draft.until}
          onChange={value => set({ until: value })}
        />
        <div className="lc-audit-filter-actions">
          <button type="submit" className="jp-Button jp-mod-styled">
            Apply
          </button>
          <button
            type="button"
            className="lc-link-button lc-audit-clear"
            disabled={!filtering && !Object.values(draft).some(Boolean)}
            onClick={() => {
              setDraft(NO_AUDIT_FILTERS);
              setApplied(NO_AUDIT_FILTERS);
            }}
          >
            Clear filters
          </button>
        </div>
        <datalist id="lc-audit-actions">
          {ACTION_PREFIXES.map(action => (
            <option key={action} value={action} />
          ))}
        </datalist>
        <datalist id="lc-audit-types">
          {ENTITY_TYPES.map(type => (
            <option key={type} value={type} />
          ))}
        </datalist>
      </form>
      {page.data && page.error && (
        <StaleBanner error={page.error} onRetry={page.reload} />
      )}
      {!page.data ? (
        page.error ? (
          <ErrorState
            title="Cannot read the audit log"
            error={page.error}
            onRetry={page.reload}
          />
        ) : (
          <Loading label="Loading the audit log…" />
        )
      ) : items.length === 0 ? (
        <div className="lc-hint lc-audit-empty">
          {filtering
            ? 'No event matches these filters.'
            : 'No events recorded yet.'}
        </div>
      ) : (
        <table className="lc-audit-table">
          <thead>
            <tr>
              <th className="lc-audit-col-toggle" aria-label="Details" />
              <th>Time</th>
              <th>User</th>
              <th>Action</th>
              <th>Entity</th>
              <th>Change</th>
            </tr>
          </thead>
          <tbody>
            {items.map(event => (
              <AuditRow
                key={event.id}
                event={event}
                expanded={expanded.has(event.id)}
                onToggle={() => toggle(event.id)}
                canOpen={props.canOpen(event)}
                onOpen={() => props.onOpenEntity(event)}
              />
            ))}
          </tbody>
        </table>
      )}
      {page.data && (
        <nav className="lc-audit-pager" aria-label="Pages">
          <button
            className="jp-Button jp-mod-styled lc-audit-newer"
            disabled={history.length === 0}
            onClick={() => {
              setToken(history[history.length - 1] ?? null);
              setHistory(history.slice(0, -1));
            }}
          >
            ‹ Newer
          </button>
          <span className="lc-muted lc-audit-range">
            {items.length
              ? `Events ${first + 1}–${first + items.length}`
              : 'No events'}
            {` · page ${history.length + 1}`}
          </span>
          <button
            className="jp-Button jp-mod-styled lc-audit-older"
            disabled={!page.data.next_page_token}
            onClick={() => {
              const next = page.data?.next_page_token;
              if (next) {
                setHistory([...history, token]);
                setToken(next);
              }
            }}
          >
            Older ›
          </button>
        </nav>
      )}
    </div>
  );
}

function AuditInput(props: {
  label: string;
  name: string;
  value: string;
  onChange: (value: string) => void;
  type?: 'date';
  placeholder?: string;
  list?: string;
}): JSX.Element {
  return (
    <label>
      {props.label}
      <input
        type={props.type ?? 'text'}
        name={props.name}
        className={`jp-mod-styled lc-audit-filter-${props.name}`}
        value={props.value}
        placeholder={props.placeholder}
        list={props.list}
        spellCheck={false}
        autoComplete="off"
        onChange={event => props.onChange(event.target.value)}
      />
    </label>
  );
}

function AuditRow(props: {
  event: IAuditEvent;
  expanded: boolean;
  onToggle: () => void;
  canOpen: boolean;
  onOpen: () => void;
}): JSX.Element {
  const { event, expanded } = props;
  const label = entityLabel(event);
  return (
    <>
      <tr
        className={`lc-audit-row${expanded ? ' lc-expanded' : ''}`}
        data-event-id={event.id}
        data-action={event.action}
        data-user={event.user ?? ''}
        data-entity-type={event.entity_type ?? ''}
        data-entity-id={event.entity_id ?? ''}
        aria-expanded={expanded}
        tabIndex={0}
        onClick={props.onToggle}
        onKeyDown={keyEvent => {
          if (
            keyEvent.target === keyEvent.currentTarget &&
            (keyEvent.key === 'Enter' || keyEvent.key === ' ')
          ) {
            keyEvent.preventDefault();
            props.onToggle();
          }
        }}
      >
        <td className="lc-audit-col-toggle" aria-hidden="true">
          <span className="lc-audit-caret">{expanded ? '▾' : '▸'}</span>
        </td>
        <td className="lc-audit-time" title={formatAgo(event.at, Date.now())}>
          {formatDate(event.at)}
        </td>
        <td className="lc-audit-user">{event.user ?? '—'}</td>
        <td className="lc-audit-action">
          <code>{event.action}</code>
        </td>
        <td className="lc-audit-entity">
          {event.entity_type && (
            <span className={`lc-type-badge lc-type-${event.entity_type}`}>
              {event.entity_type}
            </span>
          )}
          {props.canOpen ? (
            <button
              className="lc-link-button lc-audit-open"
              title={`Open ${event.entity_type} ${event.entity_id}`}
              onClick={click => {
                click.stopPropagation();
                props.onOpen();
              }}
            >
              {label}
            </button>
          ) : (
            <span
              className="lc-audit-entity-label"
              title={event.entity_id ?? ''}
            >
              {label}
            </span>
          )}
        </td>
        <td className="lc-audit-summary lc-muted">{eventSummary(event)}</td>
      </tr>
      {expanded && (
        <tr className="lc-audit-detail-row" data-event-id={event.id}>
          <td />
          <td colSpan={5}>
            <AuditDetails event={event} />
          </td>
        </tr>
      )}
    </>
  );
}

/** An event's details: before/after side by side, then the rest as JSON. */
export function AuditDetails(props: { event: IAuditEvent }): JSX.Element {
  const { event } = props;
  const details = event.details;
  const facts = (
    <div className="lc-audit-facts lc-muted">
      <span>event {event.id}</span>
      <span>{event.at}</span>
      {event.entity_id && (
        <span>
          {event.entity_type} <code>{event.entity_id}</code>
        </span>
      )}
    </div>
  );
  if (!hasBeforeAfter(details)) {
    return (
      <div className="lc-audit-details">
        {facts}
        {details === null || details === undefined ? (
          <div className="lc-muted">No details recorded.</div>
        ) : (
          <pre className="lc-audit-json">{formatValue(details)}</pre>
        )}
      </div>
    );
  }
  const { before, after, ...rest } = details;
  return (
    <div className="lc-audit-details">
      {facts}
      {isRecord(before) && isRecord(after) ? (
        <BeforeAfterTable before={before} after={after} />
      ) : (
        <div className="lc-audit-diff">
          <div className="lc-audit-before">
            <div className="lc-audit-side-title">Before</div>
            <pre className="lc-audit-value">
              {before === null ? 'none' : formatValue(before)}
            </pre>
          </div>
          <div className="lc-audit-arrow" aria-hidden="true">
            →
          </div>
          <div className="lc-audit-after">
            <div className="lc-audit-side-title">After</div>
            <pre className="lc-audit-value">
              {after === null ? 'none' : formatValue(after)}
            </pre>
          </div>
        </div>
      )}
      {Object.keys(rest).length > 0 && (
        <pre className="lc-audit-json lc-audit-rest">{formatValue(rest)}</pre>
      )}
    </div>
  );
}

function BeforeAfterTable(props: {
  before: Record<string, unknown>;
  after: Record<string, unknown>;
}): JSX.Element {
  const { before, after } = props;
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  const changed = new Set(changedKeys(before, after));
  return (
    <table className="lc-audit-diff-table">
      <thead>
        <tr>
          <th>Field</th>
          <th className="lc-audit-before">Before</th>
          <th className="lc-audit-after">After</th>
        </tr>
      </thead>
      <tbody>
        {keys.map(key => (
          <tr
            key={key}
            data-key={key}
            className={changed.has(key) ? 'lc-audit-changed' : undefined}
          >
            <th scope="row">{key}</th>
            <td className="lc-audit-before">
              <pre className="lc-audit-value">
                {key in before ? formatValue(before[key]) : '—'}
              </pre>
            </td>
            <td className="lc-audit-after">
              <pre className="lc-audit-value">
                {key in after ? formatValue(after[key]) : '—'}
              </pre>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
