import { Clipboard } from '@jupyterlab/apputils';
import * as React from 'react';

import { LineageButton } from '../commandBridge';
import { formatAgo, formatNumber } from '../format';
import { IDeployment, IModelSignature } from '../models_jobs';

const DEPLOY_BADGE: Record<string, string> = {
  starting: 'running',
  ready: 'finished',
  failed: 'failed',
  stopped: 'killed'
};

/** One example row from a model's signature (as the Python client does). */
export function exampleRow(
  signature: IModelSignature | null | undefined
): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const col of signature?.inputs ?? []) {
    const dtype = String(col.dtype ?? '').toLowerCase();
    if (col.categories && col.categories.length) {
      row[col.name] = col.categories[0];
    } else if (dtype.startsWith('float')) {
      const { min, max } = col;
      row[col.name] =
        typeof min === 'number' && typeof max === 'number'
          ? Math.round(((min + max) / 2) * 1e4) / 1e4
          : 0.0;
    } else if (dtype.startsWith('int') || dtype.startsWith('uint')) {
      row[col.name] = typeof col.min === 'number' ? Math.trunc(col.min) : 0;
    } else if (dtype.startsWith('bool')) {
      row[col.name] = false;
    } else {
      row[col.name] = '';
    }
  }
  return row;
}

/** The `curl` line that calls a deployment: the server's, else built here. */
export function curlCommand(
  deployment: IDeployment,
  signature: IModelSignature | null | undefined
): string {
  if (deployment.curl_example) {
    return deployment.curl_example;
  }
  const body = JSON.stringify([exampleRow(signature)]).replace(/'/g, "'\\''");
  const auth = deployment.api_key_required
    ? " -H 'Authorization: Bearer $LABCYCLE_API_KEY'"
    : '';
  return (
    `curl -s -X POST ${deployment.url.replace(/\/$/, '')}/predict ` +
    `-H 'Content-Type: application/json'${auth} -d '${body}'`
  );
}

export interface IDeploymentCardProps {
  deployment: IDeployment;
  signature: IModelSignature | null | undefined;
  /** The key made with the deployment: shown once, in this session only. */
  apiKey?: string | null;
  focused: boolean;
  busy: boolean;
  onStop: () => void;
  onStart: () => void;
  onScale: (workers: number) => void;
}

/** A deployment: status, URL, how to call it, and stop / start / scale. */
export function DeploymentCard(props: IDeploymentCardProps): JSX.Element {
  const { deployment: d } = props;
  const [workers, setWorkers] = React.useState(String(d.workers));
  const [copied, setCopied] = React.useState(false);
  React.useEffect(() => setWorkers(String(d.workers)), [d.workers]);
  const curl = curlCommand(d, props.signature);
  const running = d.desired !== 'stopped' && d.status !== 'stopped';
  const stats = [
    typeof d.request_rate === 'number' &&
      `${formatNumber(d.request_rate)} req/s`,
    typeof d.latency_ms === 'number' && `${formatNumber(d.latency_ms)} ms`
  ].filter(Boolean);

  return (
    <li
      className={`lc-deployment${props.focused ? ' lc-focused' : ''}`}
      data-deployment-id={d.id}
      data-status={d.status}
    >
      <div className="lc-job-line">
        <span className="lc-deployment-name" title={d.id}>
          {d.name}
        </span>
        <span
          className={`lc-status lc-status-${DEPLOY_BADGE[d.status] ?? 'unknown'} lc-deployment-status`}
          data-status={d.status}
          title={d.error ?? `Status: ${d.status}`}
        >
          <span className="lc-status-dot" aria-hidden="true" />
          {d.status}
        </span>
      </div>
      <div className="lc-job-line lc-muted">
        <code className="lc-deployment-ref" title="Model reference">
          {d.model_ref}
        </code>
      </div>
      <div className="lc-job-line lc-muted lc-deployment-facts">
        {d.workers} worker{d.workers === 1 ? '' : 's'}
        {d.restarts ? ` · ${d.restarts} restarts` : ''}
        {d.started_at && running
          ? ` · started ${formatAgo(new Date(d.started_at).toISOString())}`
          : ''}
      </div>
      {stats.length > 0 && (
        <div className="lc-deployment-stats lc-muted">{stats.join(' · ')}</div>
      )}
      {running && (
        <div className="lc-deployment-url-row">
          <a
            className="lc-deployment-url"
            href={d.url}
            target="_blank"
            rel="noreferrer"
          >
            {d.url}
          </a>
          <button
            className="lc-link-button lc-copy-curl"
            title="Copy the example curl command"
            onClick={() => {
              Clipboard.copyToSystem(curl);
              setCopied(true);
              window.setTimeout(() => setCopied(false), 1500);
            }}
          >
            {copied ? 'Copied' : 'Copy curl'}
          </button>
          {d.try_url && (
            <a
              className="lc-link-button lc-try-it"
              href={d.try_url}
              target="_blank"
              rel="noreferrer"
            >
              Try it
            </a>
          )}
        </div>
      )}
      {d.error && <div className="lc-error-text lc-job-error">{d.error}</div>}
      {props.apiKey && (
        <div className="lc-banner lc-banner-warn lc-api-key" role="status">
          API key (shown once): <code>{props.apiKey}</code>
        </div>
      )}
      {running && (
        <pre className="lc-code lc-curl" title="Example request">
          {curl}
        </pre>
      )}
      <div className="lc-job-actions">
        {running ? (
          <>
            <button
              className="lc-link-button lc-deployment-stop"
              disabled={props.busy}
              onClick={props.onStop}
            >
              Stop
            </button>
            <label className="lc-deployment-workers">
              workers
              <input
                className="jp-mod-styled lc-workers-input"
                type="number"
                min={1}
                max={32}
                value={workers}
                onChange={e => setWorkers(e.target.value)}
              />
            </label>
            <button
              className="lc-link-button lc-deployment-scale"
              disabled={props.busy || Number(workers) === d.workers}
              onClick={() => props.onScale(Number(workers))}
            >
              Scale
            </button>
          </>
        ) : (
          <button
            className="lc-link-button lc-deployment-start"
            disabled={props.busy}
            onClick={props.onStart}
          >
            Start again
          </button>
        )}
        <LineageButton type="deployment" id={d.id} title={d.name} link />
      </div>
    </li>
  );
}
