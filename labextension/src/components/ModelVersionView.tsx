import { ISignal } from '@lumino/signaling';
import * as React from 'react';

import { LabCycleClient } from '../client';
import { AnalysisClient } from '../client_analysis';
import { HubClient } from '../client_hub';
import { LineageButton } from '../commandBridge';
import { formatDate, formatMetric, shortId } from '../format';
import { LabCycleAPIError } from '../handler';
import { usePoll } from '../hooks';
import { IDataset } from '../models';
import { IDeployment, IRegisteredModel } from '../models_jobs';
import {
  ILineageGraph,
  IModelVersionDetail,
  IReviewList,
  ReviewDecision
} from '../models_analysis';
import { IMonitor } from '../models_monitors';
import { AnalysisSection } from './AnalysisCommon';
import { DeploymentCard } from './DeploymentCard';
import { NODE_TYPES } from './LineageView';
import { sharedSanitizer } from './HubText';
import { HealthBadge } from './MonitorCard';
import { resolveRef } from './ModelsSection';
import { NotesPanel } from './NotesPanel';
import { ErrorState, Loading, RefreshButton, errorMessage } from './States';

export interface IModelVersionViewProps {
  api: AnalysisClient;
  client: LabCycleClient;
  name: string;
  /** A number, `v3`, or null for the latest version. */
  version: number | string | null;
  visible: boolean;
  refresh: ISignal<unknown, void>;
  onOpenRun: (runId: string, label?: string) => void;
  /** Open the run's notebook snapshot, read-only. */
  onOpenNotebook: (runId: string) => Promise<void>;
  onLoaded?: (version: IModelVersionDetail) => void;
}

interface IVersionData {
  model: IRegisteredModel;
  version: IModelVersionDetail;
  reviews: IReviewList | Error;
  deployments: IDeployment[];
  monitors: IMonitor[];
  lineage: ILineageGraph | Error;
  datasets: Record<string, IDataset | Error>;
}

function settle<T>(promise: Promise<T>): Promise<T | Error> {
  return promise.catch(reason =>
    reason instanceof Error ? reason : new Error(String(reason))
  );
}

/** Whether a deployment serves this version (by its reference or its split). */
export function servesVersion(
  d: IDeployment,
  model: IRegisteredModel,
  version: number
): boolean {
  if (d.model_name.toLowerCase() !== model.name.toLowerCase()) {
    return false;
  }
  const refs = [d.model_ref, ...Object.keys(d.traffic ?? {})];
  return refs.some(ref => resolveRef(ref, model) === version);
}

const DECISION_LABEL: Record<string, string> = {
  approve: 'approved',
  reject: 'rejected',
  comment: 'commented'
};

/**
 * A model version for review: metadata, signature, metrics, lineage
 * summary, evidence, reviews (approve / reject / comment), the review
 * bundle, and the deployments that serve it with their monitors' health.
 */
export function ModelVersionView(props: IModelVersionViewProps): JSX.Element {
  const { api, client, name, onLoaded } = props;
  const fetchAll = React.useCallback(async (): Promise<IVersionData> => {
    const model = await api.getModel(name);
    const wanted = props.version ?? model.latest_version;
    if (wanted === null || wanted === undefined) {
      throw new Error(`Model ${name} has no version yet.`);
    }
    const version = await api.getModelVersion(model.name, wanted);
    const [reviews, deployments, monitors, lineage, datasets] =
      await Promise.all([
        settle(api.listReviews(model.name, version.version)),
        client.listDeployments(200),
        client.listMonitors(500).catch(() => [] as IMonitor[]),
        settle(
          api.getLineage('model_version', version.id, {
            direction: 'both',
            depth: 4
          })
        ),
        Promise.all(
          (version.lineage.datasets ?? []).map(d =>
            settle(api.getDataset(d.id))
          )
        )
      ]);
    const byId: Record<string, IDataset | Error> = {};
    (version.lineage.datasets ?? []).forEach(
      (d, i) => (byId[d.id] = datasets[i])
    );
    return {
      model,
      version,
      reviews,
      deployments,
      monitors,
      lineage,
      datasets: byId
    };
  }, [api, client, name, props.version]);
  const state = usePoll<IVersionData>(fetchAll, {
    interval: 5000,
    active: props.visible,
    key: `model-version:${name}:${props.version}`,
    refresh: props.refresh
  });
  const [comment, setComment] = React.useState('');
  const [busy, setBusy] = React.useState<string | null>(null);
  const [problem, setProblem] = React.useState<{
    text: string;
    status?: number;
  } | null>(null);
  const [notice, setNotice] = React.useState<string | null>(null);
  const hub = React.useMemo(() => new HubClient(client), [client]);
  const [noteCount, setNoteCount] = React.useState<number | undefined>();

  React.useEffect(() => {
    if (state.data && onLoaded) {
      onLoaded(state.data.version);
    }
  }, [state.data?.version.id]);

  if (!state.data) {
    return (
      <div className="lc-analysis lc-model-version-view lc-loading-view">
        {state.error ? (
          <ErrorState
            title={`Cannot load ${name}`}
            error={state.error}
            onRetry={state.reload}
          />
        ) : (
          <Loading label="Loading model version…" />
        )}
      </div>
    );
  }
  const { model, version: v, reviews, lineage } = state.data;
  const lineageDeployments =
    lineage instanceof Error
      ? new Set<string>()
      : new Set(
          lineage.nodes
            .filter(n => n.type === 'deployment')
            .map(n => n.entity_id)
        );
  const deployments = state.data.deployments.filter(
    d => servesVersion(d, model, v.version) || lineageDeployments.has(d.id)
  );
  const monitorsOf = (d: IDeployment) =>
    state.data!.monitors.filter(m => m.deployment_id === d.id);

  const act = async (key: string, action: () => Promise<unknown>) => {
    setBusy(key);
    setProblem(null);
    setNotice(null);
    try {
      await action();
      return true;
    } catch (reason) {
      setProblem({
        text: errorMessage(reason),
        status: reason instanceof LabCycleAPIError ? reason.status : undefined
      });
      return false;
    } finally {
      setBusy(null);
      state.reload();
    }
  };
  const review = async (decision: ReviewDecision) => {
    const ok = await act(decision, () =>
      api.createReview(model.name, v.version, decision, comment)
    );
    if (ok) {
      setComment('');
      setNotice(
        decision === 'comment'
          ? 'Comment added.'
          : `You ${DECISION_LABEL[decision]} ${v.ref}.`
      );
    }
  };
  const exportBundle = () =>
    act('bundle', async () => {
      const { blob, filename } = await api.fetchReviewBundle(
        model.name,
        v.version
      );
      const url = URL.createObjectURL(blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = filename;
      link.className = 'lc-bundle-link';
      document.body.appendChild(link);
      link.click();
      link.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), 60000);
      setNotice(`Review bundle saved as ${filename}.`);
    });
  const deploy = () =>
    act('deploy', async () => {
      const created = await client.createDeployment({ model: v.ref });
      setNotice(`Deployment ${created.name} created.`);
    });

  const state_ = reviews instanceof Error ? null : reviews;
  const runId = v.lineage.run_id ?? v.run_id;
  const facts: Array<[string, React.ReactNode]> = [
    ['Flavor', v.flavor],
    ['Created', `${formatDate(v.created_at)} by ${v.created_by}`],
    ['Project', v.lineage.project_name ?? '—'],
    ['Experiment', v.lineage.experiment_name ?? '—'],
    ['Status', v.status],
    ['Trusted loads', v.trusted ? 'yes' : 'no'],
    ['Python', v.environment?.python ?? '—'],
    [
      'Git',
      v.lineage.git_commit ? (
        <code title={v.lineage.git_commit}>
          {v.lineage.git_commit.slice(0, 10)}
        </code>
      ) : (
        '—'
      )
    ]
  ];
  const metrics = Object.entries(v.metrics ?? {}).sort(([a], [b]) =>
    a.localeCompare(b)
  );
  const counts: Array<[string, number]> =
    lineage instanceof Error
      ? []
      : NODE_TYPES.map(
          ([t, label]) =>
            [label, lineage.nodes.filter(n => n.type === t).length] as [
              string,
              number
            ]
        ).filter(([, n]) => n > 0);

  return (
    <div
      className="lc-analysis lc-model-version-view"
      data-model={model.name}
      data-version={v.version}
      data-review-state={state_?.state}
    >
      <header className="lc-analysis-header">
        <div className="lc-breadcrumb lc-muted">
          {[v.lineage.project_name, 'models', model.name]
            .filter(Boolean)
            .join(' / ')}
        </div>
        <div className="lc-run-title-row">
          <h2 className="lc-run-title" title={v.id}>
            {model.name} v{v.version}
          </h2>
          {state_ && (
            <span
              className={`lc-review-state lc-review-${state_.state}`}
              data-state={state_.state}
              title={
                state_.decided_by
                  ? `${state_.state} by ${state_.decided_by} ${formatDate(state_.decided_at)}`
                  : 'No decision by an owner or approver yet'
              }
            >
              {state_.state === 'approved'
                ? '✓ Approved'
                : state_.state === 'rejected'
                  ? '✕ Rejected'
                  : '… Pending review'}
            </span>
          )}
          <span className="lc-tag lc-flavor">{v.flavor}</span>
          {v.aliases.map(a => (
            <span className="lc-tag lc-alias" key={a}>
              @{a}
            </span>
          ))}
          <span className="lc-spacer" />
          <LineageButton
            type="model_version"
            id={v.id}
            title={`${model.name} v${v.version}`}
          />
          <button
            className="jp-Button jp-mod-styled lc-export-bundle"
            disabled={busy !== null}
            onClick={() => void exportBundle()}
            title="Download the review bundle: one self-contained HTML file with the model card, data, metrics, lineage, reviews and monitoring status"
          >
            {busy === 'bundle' ? 'Exporting…' : 'Export review bundle'}
          </button>
          <button
            className="jp-Button jp-mod-styled jp-mod-accept lc-deploy"
            disabled={busy !== null}
            onClick={() => void deploy()}
            title={`Deploy ${v.ref} as an HTTP API`}
          >
            {busy === 'deploy' ? 'Deploying…' : 'Deploy'}
          </button>
          <RefreshButton onClick={state.reload} />
        </div>
        {v.description && (
          <p className="lc-version-description">{v.description}</p>
        )}
        <dl className="lc-facts">
          {facts.map(([label, value]) => (
            <div className="lc-fact" key={label}>
              <dt>{label}</dt>
              <dd>{value}</dd>
            </div>
          ))}
        </dl>
      </header>
      {problem && (
        <div
          className="lc-banner lc-banner-error lc-action-error"
          role="alert"
          data-status={problem.status}
        >
          <span className="lc-banner-text">
            {problem.status ? `HTTP ${problem.status}: ` : ''}
            {problem.text}
          </span>
          <button className="lc-link-button" onClick={() => setProblem(null)}>
            Dismiss
          </button>
        </div>
      )}
      {notice && (
        <div
          className="lc-banner lc-banner-info lc-action-notice"
          role="status"
        >
          <span className="lc-banner-text">{notice}</span>
        </div>
      )}
      {state.error && (
        <div className="lc-banner lc-banner-error" role="alert">
          <span className="lc-banner-text">
            Could not refresh: {errorMessage(state.error)}
          </span>
        </div>
      )}

      <AnalysisSection
        id="review"
        title="Review"
        count={state_ ? state_.items.length : undefined}
      >
        {reviews instanceof Error ? (
          <ErrorState title="Cannot load the reviews" error={reviews} />
        ) : (
          <div className="lc-review">
            <div className="lc-review-policy lc-muted">
              {reviews.policy.require_approval
                ? `Approval required before deployment (project ${reviews.policy.requiring_projects.join(', ')}).`
                : 'No approval policy: deploying does not need an approval.'}{' '}
              {reviews.policy.approvers.length > 0
                ? `Approvers: ${reviews.policy.approvers.join(', ')}; project owners also decide.`
                : 'Project owners decide; editors may comment and vote.'}
            </div>
            {reviews.items.length === 0 ? (
              <div className="lc-muted lc-no-reviews">No reviews yet.</div>
            ) : (
              <ol className="lc-review-list">
                {reviews.items.map(r => (
                  <li
                    key={r.id}
                    className={`lc-review-item lc-decision-${r.decision}`}
                    data-decision={r.decision}
                  >
                    <div className="lc-review-line">
                      <span className={`lc-decision lc-decision-${r.decision}`}>
                        {DECISION_LABEL[r.decision] ?? r.decision}
                      </span>
                      <b className="lc-reviewer">{r.reviewer}</b>
                      {r.role && <span className="lc-tag">{r.role}</span>}
                      {!r.counts && r.decision !== 'comment' && (
                        <span
                          className="lc-muted"
                          title="Only an owner's or an approver's decision sets the state"
                        >
                          (does not set the state)
                        </span>
                      )}
                      <span className="lc-spacer" />
                      <span className="lc-muted" title={r.at}>
                        {formatDate(r.at)}
                      </span>
                    </div>
                    {r.comment && (
                      <div className="lc-review-comment">{r.comment}</div>
                    )}
                  </li>
                ))}
              </ol>
            )}
            <div className="lc-review-form">
              <textarea
                className="jp-mod-styled lc-review-comment-input"
                placeholder="Comment (Markdown); needed to reject or to comment"
                value={comment}
                rows={3}
                onChange={e => setComment(e.target.value)}
              />
              <div className="lc-review-actions">
                <button
                  className="jp-Button jp-mod-styled jp-mod-accept lc-approve"
                  disabled={busy !== null}
                  onClick={() => void review('approve')}
                >
                  Approve
                </button>
                <button
                  className="jp-Button jp-mod-styled jp-mod-warn lc-reject"
                  disabled={busy !== null}
                  onClick={() => void review('reject')}
                >
                  Reject
                </button>
                <button
                  className="jp-Button jp-mod-styled lc-comment"
                  disabled={busy !== null || !comment.trim()}
                  onClick={() => void review('comment')}
                >
                  Comment
                </button>
              </div>
            </div>
          </div>
        )}
      </AnalysisSection>

      <AnalysisSection id="evidence" title="Evidence">
        <div className="lc-evidence">
          <div className="lc-evidence-line">
            <span className="lc-evidence-label">Run</span>
            {runId ? (
              <button
                className="lc-link-button lc-open-run"
                onClick={() =>
                  props.onOpenRun(runId, v.lineage.run_name ?? undefined)
                }
                title={`Open run ${runId}`}
              >
                {v.lineage.run_name || shortId(runId)}
              </button>
            ) : (
              '—'
            )}
            {v.lineage.user && (
              <span className="lc-muted">by {v.lineage.user}</span>
            )}
          </div>
          <div className="lc-evidence-line">
            <span className="lc-evidence-label">Notebook</span>
            {v.lineage.notebook_path ? (
              <code>{v.lineage.notebook_path}</code>
            ) : (
              <span className="lc-muted">—</span>
            )}
            {runId && (
              <button
                className="lc-link-button lc-open-version-snapshot"
                disabled={busy !== null}
                onClick={() =>
                  void act('snapshot', () => props.onOpenNotebook(runId))
                }
              >
                Open snapshot
              </button>
            )}
          </div>
          {(v.lineage.datasets ?? []).length === 0 ? (
            <div className="lc-muted">No datasets recorded.</div>
          ) : (
            <table className="lc-table lc-datasets lc-evidence-datasets">
              <thead>
                <tr>
                  <th>Dataset</th>
                  <th>Context</th>
                  <th className="lc-num">Rows</th>
                  <th>Fingerprint</th>
                  <th>Content</th>
                </tr>
              </thead>
              <tbody>
                {(v.lineage.datasets ?? []).map(d => {
                  const full = state.data!.datasets[d.id];
                  const info = full instanceof Error ? null : full;
                  return (
                    <tr key={`${d.id}:${d.context}`} data-dataset-id={d.id}>
                      <td className="lc-key" title={info?.source ?? undefined}>
                        {d.name}
                      </td>
                      <td>{d.context ?? '—'}</td>
                      <td className="lc-num">{info?.row_count ?? '—'}</td>
                      <td>
                        <code title={d.digest}>{d.digest.slice(0, 19)}</code>
                      </td>
                      <td>
                        {info?.content_digest ? (
                          <code title={info.content_digest}>
                            {info.content_digest.slice(0, 19)}
                          </code>
                        ) : (
                          '—'
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
        </div>
      </AnalysisSection>

      <AnalysisSection id="lineage" title="Lineage">
        {lineage instanceof Error ? (
          <ErrorState title="Cannot load the lineage" error={lineage} />
        ) : (
          <div className="lc-lineage-summary">
            {counts.map(([label, n]) => (
              <span key={label} className="lc-tag" data-count={n}>
                {label}
                <span className="lc-tag-value">{n}</span>
              </span>
            ))}
            {lineage.truncated && <span className="lc-muted">(truncated)</span>}
            <LineageButton
              type="model_version"
              id={v.id}
              title={`${model.name} v${v.version}`}
              link
            />
          </div>
        )}
      </AnalysisSection>

      <AnalysisSection
        id="deployments"
        title="Deployments"
        count={deployments.length}
      >
        {deployments.length === 0 ? (
          <div className="lc-muted">
            Not deployed. Press <b>Deploy</b> to serve this version.
          </div>
        ) : (
          <ul className="lc-deployments">
            {deployments.map(d => (
              <React.Fragment key={d.id}>
                <DeploymentCard
                  deployment={d}
                  signature={v.signature}
                  focused={false}
                  busy={busy === d.id}
                  onStop={() =>
                    void act(d.id, () => client.stopDeployment(d.id))
                  }
                  onStart={() =>
                    void act(d.id, () =>
                      client.updateDeployment(d.id, { desired: 'running' })
                    )
                  }
                  onScale={workers =>
                    void act(d.id, () =>
                      client.updateDeployment(d.id, { workers })
                    )
                  }
                />
                {monitorsOf(d).map(m => (
                  <li
                    key={m.id}
                    className="lc-version-monitor"
                    data-monitor-id={m.id}
                  >
                    <span className="lc-muted">Monitor</span>
                    <b>{m.name}</b>
                    <HealthBadge health={m.health} />
                    {m.last_checked_at && (
                      <span className="lc-muted">
                        checked {formatDate(m.last_checked_at)}
                      </span>
                    )}
                    <span className="lc-spacer" />
                    <LineageButton
                      type="monitor"
                      id={m.id}
                      title={m.name}
                      link
                    />
                  </li>
                ))}
              </React.Fragment>
            ))}
          </ul>
        )}
      </AnalysisSection>

      <AnalysisSection id="metrics" title="Metrics" count={metrics.length}>
        {metrics.length === 0 ? (
          <div className="lc-muted">No metrics.</div>
        ) : (
          <table className="lc-table lc-kv-table">
            <tbody>
              {metrics.map(([key, value]) => (
                <tr key={key} data-key={key}>
                  <td className="lc-key">{key}</td>
                  <td className="lc-num">{formatMetric(value)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </AnalysisSection>

      <AnalysisSection
        id="signature"
        title="Signature"
        count={v.signature?.inputs.length}
      >
        {!v.signature ? (
          <div className="lc-muted">No signature recorded.</div>
        ) : (
          <table className="lc-table lc-signature">
            <thead>
              <tr>
                <th>Input</th>
                <th>Type</th>
                <th>Nullable</th>
                <th>Range or categories</th>
              </tr>
            </thead>
            <tbody>
              {v.signature.inputs.map(col => (
                <tr key={col.name}>
                  <td className="lc-key">{col.name}</td>
                  <td>
                    <code>{col.dtype}</code>
                  </td>
                  <td>{col.nullable ? 'yes' : 'no'}</td>
                  <td className="lc-muted">
                    {col.categories && col.categories.length
                      ? col.categories.slice(0, 8).map(String).join(', ') +
                        (col.categories.length > 8 ? ', …' : '')
                      : typeof col.min === 'number' ||
                          typeof col.max === 'number'
                        ? `${formatMetric(col.min ?? null)} – ${formatMetric(col.max ?? null)}`
                        : '—'}
                  </td>
                </tr>
              ))}
              {(v.signature.outputs ?? []).map(col => (
                <tr key={`out:${col.name}`} className="lc-signature-output">
                  <td className="lc-key">→ {col.name}</td>
                  <td>
                    <code>{col.dtype}</code>
                  </td>
                  <td colSpan={2} className="lc-muted">
                    output
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </AnalysisSection>

      <AnalysisSection id="notes" title="Notes" count={noteCount}>
        <NotesPanel
          hub={hub}
          entity={{ type: 'model_version', id: v.id }}
          active={props.visible}
          refresh={props.refresh}
          sanitize={sharedSanitizer.current}
          onCount={setNoteCount}
        />
      </AnalysisSection>
    </div>
  );
}
