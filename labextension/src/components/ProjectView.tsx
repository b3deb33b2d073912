import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISignal } from '@lumino/signaling';
import * as React from 'react';

import { LabCycleClient } from '../client';
import { HubClient } from '../client_hub';
import { formatAgo, formatDate, formatMetric, runLabel } from '../format';
import { useAction, usePoll, useToggleSet } from '../hooks';
import { IExperiment, IProject, IRun } from '../models';
import {
  IAuditEvent,
  IMemberList,
  ISearchHit,
  ProjectRole
} from '../models_hub';
import { MarkdownView, makeSanitizer } from './HubText';
import { knownMe, NotesPanel } from './NotesPanel';
import { ErrorState, Loading, StaleBanner } from './States';
import { StatusBadge } from './StatusBadge';

/** How often an open project tab is refreshed (ms). */
export const PROJECT_POLL_MS = 10000;

export interface IProjectViewProps {
  client: LabCycleClient;
  hub: HubClient;
  rendermime: IRenderMimeRegistry | null;
  /** Id or name. */
  projectId: string;
  visible: boolean;
  refresh: ISignal<unknown, void>;
  onLoaded?: (project: IProject) => void;
  onOpenRun: (runId: string, label?: string) => void;
  onOpenHit: (hit: ISearchHit) => void;
  onCompare: (runIds: string[]) => void;
  onLineage: (type: string, id: string, title?: string) => void;
  /** Open the audit log filtered by this project (by name). */
  onAudit?: (project: string) => void;
}

interface IProjectData {
  project: IProject;
  members: IMemberList | Error;
  activity: IAuditEvent[] | Error;
  experiments: IExperiment[] | Error;
  /** Models, versions, deployments and monitors of the project. */
  assets: ISearchHit[] | Error;
}

function settle<T>(promise: Promise<T>): Promise<T | Error> {
  return promise.catch(reason =>
    reason instanceof Error ? reason : new Error(String(reason))
  );
}

/** Metrics where lower is better, by name. */
export function lowerIsBetter(key: string): boolean {
  return /loss|err|rmse|mse|mae|mape|latency|time|perplexity/i.test(key);
}

/** The project tab: README, people, work, assets, activity and notes. */
export function ProjectView(props: IProjectViewProps): JSX.Element {
  const { client, hub, projectId } = props;
  const fetchAll = React.useCallback(async (): Promise<IProjectData> => {
    const project = await hub.getProject(projectId);
    const [members, activity, experiments, assets] = await Promise.all([
      settle(hub.members(project.id)),
      settle(hub.activity(project.id, 30).then(page => page.items)),
      settle(client.listExperiments(project.id).then(list => list.items)),
      settle(
        hub
          .search({
            type: ['model', 'model_version', 'deployment', 'monitor'],
            project: project.id,
            max_results: 100
          })
          .then(page => page.items)
      )
    ]);
    return { project, members, activity, experiments, assets };
  }, [client, hub, projectId]);
  const state = usePoll<IProjectData>(fetchAll, {
    interval: PROJECT_POLL_MS,
    active: props.visible,
    key: `project:${projectId}`,
    refresh: props.refresh
  });
  const sanitize = React.useMemo(
    () => makeSanitizer(props.rendermime),
    [props.rendermime]
  );
  React.useEffect(() => {
    if (state.data && props.onLoaded) {
      props.onLoaded(state.data.project);
    }
  }, [state.data?.project.name, state.data?.project.status]);

  if (!state.data) {
    return (
      <div className="lc-project-view lc-project-loading">
        {state.error ? (
          <ErrorState
            title="Cannot load this project"
            error={state.error}
            onRetry={state.reload}
          />
        ) : (
          <Loading label="Loading project…" />
        )}
      </div>
    );
  }
  const { project, members, activity, experiments, assets } = state.data;
  const users = [
    ...(project.owners ?? []),
    ...(members instanceof Error ? [] : members.items.map(m => m.user))
  ];
  return (
    <div
      className="lc-project-view"
      data-project-id={project.id}
      data-project-name={project.name}
    >
      {state.error && (
        <StaleBanner error={state.error} onRetry={state.reload} />
      )}
      <ProjectHeader
        project={project}
        onLineage={() => props.onLineage('project', project.id, project.name)}
        onAudit={
          props.onAudit ? () => props.onAudit?.(project.name) : undefined
        }
        onRefresh={state.reload}
      />
      <div className="lc-project-grid">
        <div className="lc-project-main">
          <Card title="README" className="lc-project-readme">
            <ReadmeEditor
              hub={hub}
              project={project}
              rendermime={props.rendermime}
              onSaved={state.reload}
            />
          </Card>
          <Card title="Experiments and best runs" className="lc-project-runs">
            {experiments instanceof Error ? (
              <ErrorState error={experiments} onRetry={state.reload} />
            ) : (
              <BestRuns
                client={client}
                experiments={experiments}
                visible={props.visible}
                refresh={props.refresh}
                onOpenRun={props.onOpenRun}
                onCompare={props.onCompare}
              />
            )}
          </Card>
          <Card title="Notes" className="lc-project-notes">
            <NotesPanel
              hub={hub}
              entity={{ type: 'project', id: project.id }}
              active={props.visible}
              refresh={props.refresh}
              sanitize={sanitize}
              users={users}
              onOpenAnchor={anchor => props.onOpenRun(anchor.run_id)}
            />
          </Card>
        </div>
        <div className="lc-project-side">
          <Card title="People" className="lc-project-people">
            {members instanceof Error ? (
              <ErrorState error={members} onRetry={state.reload} />
            ) : (
              <MembersEditor
                hub={hub}
                project={project}
                members={members}
                onChanged={state.reload}
              />
            )}
          </Card>
          <Card
            title="Models, deployments and monitors"
            className="lc-project-assets"
          >
            {assets instanceof Error ? (
              <ErrorState error={assets} onRetry={state.reload} />
            ) : (
              <Assets hits={assets} onOpen={props.onOpenHit} />
            )}
          </Card>
          <Card title="Activity" className="lc-project-activity">
            {activity instanceof Error ? (
              <ErrorState error={activity} onRetry={state.reload} />
            ) : (
              <ActivityFeed events={activity} />
            )}
          </Card>
        </div>
      </div>
    </div>
  );
}

function Card(props: {
  title: string;
  className?: string;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <section
      className={`lc-card ${props.className ?? ''}`}
      aria-label={props.title}
    >
      <h3 className="lc-card-title">{props.title}</h3>
      <div className="lc-card-body">{props.children}</div>
    </section>
  );
}

/** A link only for http(s) URLs; anything else is shown as text. */
export function safeHref(url: string | null | undefined): string | null {
  if (!url) {
    return null;
  }
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:'
      ? parsed.href
      : null;
  } catch {
    return null;
  }
}

function ProjectHeader(props: {
  project: IProject;
  onLineage: () => void;
  onAudit?: () => void;
  onRefresh: () => void;
}): JSX.Element {
  const { project } = props;
  const href = safeHref(project.git_url);
  return (
    <header className="lc-project-header">
      <div className="lc-project-title-line">
        <h2 className="lc-project-title">{project.name}</h2>
        <span
          className={`lc-project-status lc-project-status-${project.status}`}
          data-status={project.status}
        >
          {project.status}
        </span>
        {(project.tags ?? []).map(tag => (
          <span key={tag} className="lc-hub-tag">
            {tag}
          </span>
        ))}
        <span className="lc-spacer" />
        <button
          className="jp-Button jp-mod-styled lc-project-lineage"
          onClick={props.onLineage}
          title="The lineage of this project: experiments, runs, data, models"
        >
          Lineage
        </button>
        {props.onAudit && (
          <button
            className="jp-Button jp-mod-styled lc-project-audit"
            onClick={props.onAudit}
            title="The audit log of this project: who changed what, when"
          >
            Audit
          </button>
        )}
        <button
          className="jp-Button jp-mod-styled lc-project-refresh"
          onClick={props.onRefresh}
        >
          Refresh
        </button>
      </div>
      <div className="lc-project-facts lc-muted">
        <span className="lc-project-owners">
          {(project.owners ?? []).length
            ? `Owners: ${project.owners.join(', ')}`
            : 'Open project (no members: everyone is an owner)'}
        </span>
        {project.git_url && (
          <span className="lc-project-git">
            git:{' '}
            {href ? (
              <a href={href} target="_blank" rel="noopener noreferrer">
                {project.git_url}
              </a>
            ) : (
              <code>{project.git_url}</code>
            )}
          </span>
        )}
        {project.source_path !== null && project.source_path !== undefined && (
          <span className="lc-project-folder">
            folder: <code>{project.source_path || '/'}</code>
          </span>
        )}
        <span title={formatDate(project.updated_at)}>
          updated {formatAgo(project.updated_at, Date.now())}
          {project.updated_by ? ` by ${project.updated_by}` : ''}
        </span>
        {project.settings?.require_approval && (
          <span className="lc-project-policy">
            deployments need an approved version
          </span>
        )}
      </div>
    </header>
  );
}

function ReadmeEditor(props: {
  hub: HubClient;
  project: IProject;
  rendermime: IRenderMimeRegistry | null;
  onSaved: () => void;
}): JSX.Element {
  const { project } = props;
  const [editing, setEditing] = React.useState(false);
  const [draft, setDraft] = React.useState({
    description: '',
    tags: '',
    status: 'active',
    git_url: ''
  });
  const { busy, error, setError, run } = useAction();
  const start = () => {
    setDraft({
      description: project.description ?? '',
      tags: (project.tags ?? []).join(', '),
      status: project.status,
      git_url: project.git_url ?? ''
    });
    setError(null);
    setEditing(true);
  };
  const save = async () => {
    await run(async () => {
      await props.hub.updateProject(project.id, {
        description: draft.description,
        tags: draft.tags
          .split(',')
          .map(t => t.trim())
          .filter(Boolean),
        status: draft.status as 'active' | 'archived',
        git_url: draft.git_url.trim() || null
      });
      setEditing(false);
      props.onSaved();
    });
  };
  if (!editing) {
    return (
      <>
        {project.description ? (
          <MarkdownView
            rendermime={props.rendermime}
            source={project.description}
            className="lc-readme"
          />
        ) : (
          <div className="lc-muted lc-readme-empty">
            No README yet. Import the project&apos;s folder, or write one.
          </div>
        )}
        <button className="lc-link-button lc-edit-project" onClick={start}>
          Edit README, tags, status and git link
        </button>
      </>
    );
  }
  return (
    <div className="lc-project-form">
      <label>
        README (Markdown)
        <textarea
          className="jp-mod-styled lc-readme-input"
          rows={12}
          value={draft.description}
          onChange={e => setDraft({ ...draft, description: e.target.value })}
        />
      </label>
      <label>
        Tags (comma-separated)
        <input
          className="jp-mod-styled lc-tags-input"
          value={draft.tags}
          onChange={e => setDraft({ ...draft, tags: e.target.value })}
        />
      </label>
      <label>
        Status
        <select
          className="jp-mod-styled lc-status-input"
          value={draft.status}
          onChange={e => setDraft({ ...draft, status: e.target.value })}
        >
          <option value="active">active</option>
          <option value="archived">archived</option>
        </select>
      </label>
      <label>
        Git repository
        <input
          className="jp-mod-styled lc-git-input"
          value={draft.git_url}
          placeholder="https://host/org/repo.git"
          onChange={e => setDraft({ ...draft, git_url: e.target.value })}
        />
      </label>
      {error && (
        <div className="lc-form-error" role="alert">
          {error}
        </div>
      )}
      <div className="lc-form-actions">
        <button
          className="jp-Button jp-mod-styled jp-mod-reject"
          onClick={() => setEditing(false)}
          disabled={busy}
        >
          Cancel
        </button>
        <button
          className="jp-Button jp-mod-styled jp-mod-accept lc-save-project"
          onClick={() => void save()}
          disabled={busy}
        >
          {busy ? 'Saving…' : 'Save'}
        </button>
      </div>
    </div>
  );
}

const ROLES: ProjectRole[] = ['viewer', 'editor', 'owner'];

function MembersEditor(props: {
  hub: HubClient;
  project: IProject;
  members: IMemberList;
  onChanged: () => void;
}): JSX.Element {
  const { hub, project, members } = props;
  const me = knownMe();
  // The server decides (owner role); the controls show where they can work.
  const canEdit =
    members.open || me === null || (project.owners ?? []).includes(me);
  const [user, setUser] = React.useState('');
  const [role, setRole] = React.useState<ProjectRole>('editor');
  const { busy, error, setError, run } = useAction();
  const act = (work: () => Promise<unknown>) =>
    run(async () => {
      await work();
      props.onChanged();
    });
  return (
    <div className="lc-members">
      {members.open && (
        <p className="lc-muted lc-members-open">
          No members: every user acts as an owner. Adding the first member makes
          you an owner too.
        </p>
      )}
      {members.items.length > 0 && (
        <table className="lc-table lc-members-table">
          <tbody>
            {members.items.map(member => (
              <tr key={member.user} data-user={member.user}>
                <td className="lc-member-user">{member.user}</td>
                <td>
                  {canEdit ? (
                    <select
                      className="jp-mod-styled lc-member-role"
                      value={member.role}
                      disabled={busy}
                      aria-label={`Role of ${member.user}`}
                      onChange={e =>
                        void act(() =>
                          hub.setMember(
                            project.id,
                            member.user,
                            e.target.value as ProjectRole
                          )
                        )
                      }
                    >
                      {ROLES.map(r => (
                        <option key={r} value={r}>
                          {r}
                        </option>
                      ))}
                    </select>
                  ) : (
                    <span className="lc-member-role">{member.role}</span>
                  )}
                </td>
                {canEdit && (
                  <td className="lc-num">
                    <button
                      className="lc-link-button lc-member-remove"
                      disabled={busy}
                      onClick={() =>
                        void act(() =>
                          hub.removeMember(project.id, member.user)
                        )
                      }
                    >
                      Remove
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {canEdit && (
        <form
          className="lc-member-add"
          onSubmit={event => {
            event.preventDefault();
            const name = user.trim();
            if (!name) {
              setError('Give a user name.');
              return;
            }
            void act(async () => {
              await hub.setMember(project.id, name, role);
              setUser('');
            });
          }}
        >
          <input
            className="jp-mod-styled lc-member-user-input"
            placeholder="user"
            value={user}
            onChange={e => setUser(e.target.value)}
            aria-label="User to add"
          />
          <select
            className="jp-mod-styled lc-member-role-input"
            value={role}
            onChange={e => setRole(e.target.value as ProjectRole)}
            aria-label="Role"
          >
            {ROLES.map(r => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
          <button
            type="submit"
            className="jp-Button jp-mod-styled jp-mod-accept lc-member-add-button"
            disabled={busy}
          >
            Add
          </button>
        </form>
      )}
      {error && (
        <div className="lc-form-error" role="alert">
          {error}
        </div>
      )}
    </div>
  );
}

function BestRuns(props: {
  client: LabCycleClient;
  experiments: IExperiment[];
  visible: boolean;
  refresh: ISignal<unknown, void>;
  onOpenRun: (runId: string, label?: string) => void;
  onCompare: (runIds: string[]) => void;
}): JSX.Element {
  const { client, experiments } = props;
  const ids = experiments.map(e => e.id);
  const [metric, setMetric] = React.useState<string | null>(null);
  const [picked, toggle] = useToggleSet<string>();
  const fetchRuns = React.useMemo(
    () =>
      ids.length
        ? () =>
            client
              .listRuns(
                {
                  experiment_id: ids,
                  order_by: metric
                    ? `metrics.\`${metric}\` ${lowerIsBetter(metric) ? 'ASC' : 'DESC'}`
                    : 'start_time DESC',
                  max_results: 10
                },
                10
              )
              .then(list => list.items)
        : null,
    [client, ids.join(','), metric]
  );
  const runs = usePoll<IRun[]>(fetchRuns, {
    interval: PROJECT_POLL_MS,
    active: props.visible,
    key: `best:${ids.join(',')}:${metric}`,
    refresh: props.refresh
  });
  const keys = React.useMemo(() => {
    const all = new Set<string>();
    (runs.data ?? []).forEach(r =>
      Object.keys(r.metrics ?? {}).forEach(k => all.add(k))
    );
    if (metric) {
      all.add(metric);
    }
    return [...all].sort();
  }, [runs.data, metric]);
  if (experiments.length === 0) {
    return <div className="lc-muted">No experiments in this project yet.</div>;
  }
  const experimentName = new Map(experiments.map(e => [e.id, e.name]));
  return (
    <div className="lc-best-runs">
      <ul className="lc-experiment-list">
        {experiments.map(e => (
          <li
            key={e.id}
            className="lc-experiment-item"
            data-experiment-id={e.id}
          >
            <span className="lc-experiment-name">{e.name}</span>
            <span className="lc-count">{e.run_count}</span>
            <span className="lc-muted">
              {e.last_run_at
                ? `last run ${formatAgo(e.last_run_at, Date.now())}`
                : 'no runs'}
            </span>
          </li>
        ))}
      </ul>
      <div className="lc-best-controls">
        <label>
          Best by{' '}
          <select
            className="jp-mod-styled lc-best-metric"
            value={metric ?? ''}
            onChange={e => setMetric(e.target.value || null)}
          >
            <option value="">(newest first)</option>
            {keys.map(k => (
              <option key={k} value={k}>
                {k} {lowerIsBetter(k) ? '↓' : '↑'}
              </option>
            ))}
          </select>
        </label>
        <button
          className="jp-Button jp-mod-styled lc-compare-picked"
          disabled={picked.size < 2}
          title="Select 2 to 50 runs to compare them"
          onClick={() => props.onCompare([...picked])}
        >
          Compare {picked.size || ''}
        </button>
      </div>
      {!runs.data ? (
        runs.error ? (
          <ErrorState error={runs.error} onRetry={runs.reload} />
        ) : (
          <Loading label="Loading runs…" />
        )
      ) : runs.data.length === 0 ? (
        <div className="lc-muted">No runs yet.</div>
      ) : (
        <table className="lc-table lc-best-table">
          <thead>
            <tr>
              <th aria-label="Select" />
              <th>Run</th>
              <th>Experiment</th>
              <th>Status</th>
              <th className="lc-num">{metric ?? 'Started'}</th>
            </tr>
          </thead>
          <tbody>
            {runs.data.map(run => (
              <tr
                key={run.id}
                className="lc-run-row"
                data-run-id={run.id}
                onClick={() => props.onOpenRun(run.id, run.name ?? undefined)}
              >
                <td onClick={e => e.stopPropagation()}>
                  <input
                    type="checkbox"
                    className="lc-run-pick"
                    checked={picked.has(run.id)}
                    aria-label={`Select ${runLabel(run)}`}
                    onChange={() => toggle(run.id)}
                  />
                </td>
                <td>
                  <span className="lc-run-name">{runLabel(run)}</span>
                </td>
                <td>{experimentName.get(run.experiment_id) ?? ''}</td>
                <td>
                  <StatusBadge status={run.status} />
                </td>
                <td className="lc-num">
                  {metric
                    ? formatMetric(run.metrics?.[metric])
                    : formatAgo(run.start_time, Date.now())}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

const ASSET_ORDER = ['model', 'model_version', 'deployment', 'monitor'];

function Assets(props: {
  hits: ISearchHit[];
  onOpen: (hit: ISearchHit) => void;
}): JSX.Element {
  if (props.hits.length === 0) {
    return (
      <div className="lc-muted">No registered models in this project yet.</div>
    );
  }
  const sorted = [...props.hits].sort(
    (a, b) =>
      ASSET_ORDER.indexOf(a.type) - ASSET_ORDER.indexOf(b.type) ||
      a.title.localeCompare(b.title)
  );
  return (
    <ul className="lc-asset-list">
      {sorted.map(hit => (
        <li
          key={`${hit.type}:${hit.id}`}
          className="lc-asset"
          data-type={hit.type}
          data-status={hit.status ?? undefined}
          tabIndex={0}
          role="button"
          onClick={() => props.onOpen(hit)}
          onKeyDown={e => {
            if (e.key === 'Enter') {
              props.onOpen(hit);
            }
          }}
        >
          <span className={`lc-type-badge lc-type-${hit.type}`}>
            {hit.type.replace('_', ' ')}
          </span>
          <span className="lc-asset-title">{hit.title}</span>
          {hit.status && (
            <span
              className={`lc-asset-status lc-health-${hit.status}`}
              data-status={hit.status}
            >
              {hit.status}
            </span>
          )}
        </li>
      ))}
    </ul>
  );
}

/** One line per audit event: who did what to which entity, when. */
export function describeEvent(event: IAuditEvent): string {
  const what = event.action.replace(/\./g, ' ');
  const entity = event.entity_type
    ? ` ${event.entity_type}${event.entity_id ? ` ${String(event.entity_id).slice(0, 8)}` : ''}`
    : '';
  const details = event.details ?? {};
  const name =
    typeof details.name === 'string'
      ? ` “${details.name}”`
      : typeof details.key === 'string'
        ? ` ${details.key}`
        : '';
  return `${event.user ?? 'someone'} · ${what}${entity}${name}`;
}

function ActivityFeed(props: { events: IAuditEvent[] }): JSX.Element {
  if (props.events.length === 0) {
    return <div className="lc-muted">No activity yet.</div>;
  }
  return (
    <ol className="lc-activity">
      {props.events.map(event => (
        <li
          key={event.id}
          className="lc-activity-item"
          data-action={event.action}
        >
          <span className="lc-activity-text">{describeEvent(event)}</span>
          <span
            className="lc-muted lc-activity-time"
            title={formatDate(event.at)}
          >
            {formatAgo(event.at, Date.now())}
          </span>
        </li>
      ))}
    </ol>
  );
}
