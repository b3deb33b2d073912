import * as React from 'react';

import { CommandIDs } from '../commands';
import { runCommand } from '../commandBridge';
import { formatAgo, formatMetric } from '../format';
import { IModelVersion } from '../models_jobs';

/** One version of a model: metrics, aliases, Deploy and "Set alias…". */
export function VersionRow(props: {
  version: IModelVersion;
  busy: boolean;
  onDeploy: () => void;
  onSetAlias: (alias: string) => void;
}): JSX.Element {
  const { version: v } = props;
  const [alias, setAlias] = React.useState('');
  const [editing, setEditing] = React.useState(false);
  const metrics = Object.entries(v.metrics ?? {}).slice(0, 4);
  return (
    <li className="lc-model-version" data-version={v.version}>
      <div className="lc-job-line">
        <span className="lc-version-number">v{v.version}</span>
        <span className="lc-tag lc-flavor" title="Flavor">
          {v.flavor}
        </span>
        {v.aliases.map(a => (
          <span className="lc-tag lc-alias" key={a}>
            @{a}
          </span>
        ))}
        <span className="lc-spacer" />
        <span className="lc-muted lc-version-age" title={v.created_at}>
          {formatAgo(v.created_at)}
        </span>
      </div>
      {metrics.length > 0 && (
        <div className="lc-version-metrics lc-muted">
          {metrics
            .map(([k, value]) => `${k} ${formatMetric(value)}`)
            .join(' · ')}
        </div>
      )}
      <div className="lc-job-actions">
        <button
          className="jp-Button jp-mod-styled jp-mod-accept lc-deploy"
          disabled={props.busy}
          onClick={props.onDeploy}
          title={`Deploy ${v.ref} as an HTTP API`}
        >
          Deploy
        </button>
        <button
          className="lc-link-button lc-open-version"
          title={`Open ${v.ref}: lineage, evidence, reviews, deployments`}
          onClick={() =>
            void runCommand(CommandIDs.openModelVersion, {
              name: v.model_name,
              version: v.version
            })
          }
        >
          Review
        </button>
        {editing ? (
          <form
            className="lc-set-alias"
            onSubmit={e => {
              e.preventDefault();
              if (alias.trim()) {
                props.onSetAlias(alias.trim());
                setAlias('');
                setEditing(false);
              }
            }}
          >
            <input
              className="jp-mod-styled lc-alias-input"
              placeholder="champion"
              value={alias}
              autoFocus
              onChange={e => setAlias(e.target.value)}
            />
            <button className="lc-link-button lc-alias-save" type="submit">
              Set
            </button>
            <button
              className="lc-link-button"
              type="button"
              onClick={() => setEditing(false)}
            >
              Cancel
            </button>
          </form>
        ) : (
          <button
            className="lc-link-button lc-set-alias-open"
            onClick={() => setEditing(true)}
          >
            Set alias…
          </button>
        )}
      </div>
    </li>
  );
}
