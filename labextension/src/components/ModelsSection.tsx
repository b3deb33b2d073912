import { ISignal } from '@lumino/signaling';
import * as React from 'react';

import { IListResult, LabCycleClient } from '../client';
import { formatAgo } from '../format';
import { usePoll, useToggleSet } from '../hooks';
import {
  IDeployment,
  IModelSignature,
  IModelVersion,
  IRegisteredModel
} from '../models_jobs';
import { DeploymentCard } from './DeploymentCard';
import { VersionRow } from './VersionRow';
import { ErrorState, Loading, StaleBanner, errorMessage } from './States';

export interface IModelsSectionProps {
  client: LabCycleClient;
  /** The section is open and the panel on screen. */
  active: boolean;
  refresh: ISignal<unknown, void>;
}

interface IModelsData {
  models: IListResult<IRegisteredModel>;
  deployments: IDeployment[];
  /** Signature of the version each deployment serves, by deployment id. */
  signatures: Record<string, IModelSignature | null>;
}

/** The version number a model reference names (`m@alias`, `m/3`, `m`). */
export function resolveRef(
  ref: string,
  model: IRegisteredModel | undefined
): number | null {
  const at = ref.lastIndexOf('@');
  if (at >= 0) {
    return model?.aliases?.[ref.slice(at + 1).toLowerCase()] ?? null;
  }
  const match = /\/(\d+)$/.exec(ref);
  return match ? Number(match[1]) : (model?.latest_version ?? null);
}

/** Registered models and their versions, and the deployments serving them. */
export function ModelsSection(props: IModelsSectionProps): JSX.Element {
  const { client, active, refresh } = props;
  // Versions never change: their signatures are fetched once.
  const cache = React.useRef(new Map<string, IModelSignature | null>());
  const fetchAll = React.useCallback(async (): Promise<IModelsData> => {
    const [models, deployments] = await Promise.all([
      client.listModels(),
      client.listDeployments()
    ]);
    const signatures: Record<string, IModelSignature | null> = {};
    for (const d of deployments) {
      if (d.status === 'stopped') {
        continue;
      }
      const model = models.items.find(m => m.name === d.model_name);
      const version = resolveRef(d.model_ref, model);
      if (version === null) {
        continue;
      }
      const key = `${d.model_name}/${version}`;
      if (!cache.current.has(key)) {
        try {
          const versions = await client.listModelVersions(d.model_name);
          for (const v of versions) {
            cache.current.set(`${d.model_name}/${v.version}`, v.signature);
          }
        } catch {
          // The curl example then has an empty row; the list still shows.
        }
      }
      signatures[d.id] = cache.current.get(key) ?? null;
    }
    return { models, deployments, signatures };
  }, [client]);
  const state = usePoll<IModelsData>(fetchAll, {
    interval: 2000,
    active,
    key: 'models',
    refresh
  });
  const [open, toggle] = useToggleSet<string>();
  const [busy, setBusy] = React.useState<string | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [focusId, setFocusId] = React.useState<string | null>(null);
  const [keys, setKeys] = React.useState<Record<string, string>>({});

  const act = async <T,>(id: string, action: () => Promise<T>) => {
    setBusy(id);
    setError(null);
    try {
      return await action();
    } catch (reason) {
      setError(errorMessage(reason));
      return undefined;
    } finally {
      setBusy(null);
      state.reload();
    }
  };
  const deploy = async (ref: string) => {
    const created = await act(ref, () =>
      client.createDeployment({ model: ref })
    );
    if (created) {
      setFocusId(created.id);
      if (created.api_key) {
        setKeys(k => ({ ...k, [created.id]: created.api_key! }));
      }
    }
  };

  if (!state.data) {
    return state.error ? (
      <ErrorState
        title="Cannot load models"
        error={state.error}
        onRetry={state.reload}
      />
    ) : (
      <Loading label="Loading models…" />
    );
  }
  const { models, deployments, signatures } = state.data;

  return (
    <div className="lc-models-list">
      {state.error && (
        <StaleBanner error={state.error} onRetry={state.reload} />
      )}
      {error && (
        <div className="lc-banner lc-banner-error lc-model-error" role="alert">
          <span className="lc-banner-text">{error}</span>
        </div>
      )}
      {models.items.length === 0 ? (
        <div className="lc-hint lc-models-empty">
          No registered models yet. In a run, call{' '}
          <code>{'lc.log_model(model, "name", input_example=X)'}</code>.
        </div>
      ) : (
        <ul className="lc-model-list">
          {models.items.map(model => (
            <ModelItem
              key={model.id}
              client={client}
              model={model}
              open={open.has(model.name)}
              active={active && open.has(model.name)}
              refresh={refresh}
              busy={busy}
              onToggle={() => toggle(model.name)}
              onDeploy={ref => void deploy(ref)}
              onSetAlias={(alias, version) =>
                void act(`${model.name}@${alias}`, () =>
                  client.setModelAlias(model.name, alias, version)
                )
              }
            />
          ))}
        </ul>
      )}
      <div className="lc-subsection-title">
        Deployments
        <span className="lc-count">
          {deployments.filter(d => d.status !== 'stopped').length}
        </span>
      </div>
      {deployments.length === 0 ? (
        <div className="lc-hint">
          Nothing deployed. Press <b>Deploy</b> on a version or an alias.
        </div>
      ) : (
        <ul className="lc-deployments">
          {deployments.map(d => (
            <DeploymentCard
              key={d.id}
              deployment={d}
              signature={signatures[d.id]}
              apiKey={keys[d.id]}
              focused={d.id === focusId}
              busy={busy === d.id}
              onStop={() => void act(d.id, () => client.stopDeployment(d.id))}
              onStart={() =>
                void act(d.id, () =>
                  client.updateDeployment(d.id, { desired: 'running' })
                )
              }
              onScale={workers =>
                void act(d.id, () => client.updateDeployment(d.id, { workers }))
              }
            />
          ))}
        </ul>
      )}
    </div>
  );
}

function ModelItem(props: {
  client: LabCycleClient;
  model: IRegisteredModel;
  open: boolean;
  active: boolean;
  refresh: ISignal<unknown, void>;
  busy: string | null;
  onToggle: () => void;
  onDeploy: (ref: string) => void;
  onSetAlias: (alias: string, version: number) => void;
}): JSX.Element {
  const { client, model } = props;
  const fetchVersions = React.useMemo(
    () => (props.open ? () => client.listModelVersions(model.name) : null),
    [client, model.name, props.open]
  );
  const versions = usePoll<IModelVersion[]>(fetchVersions, {
    interval: 5000,
    active: props.active,
    key: `versions:${model.name}:${model.updated_at}`,
    refresh: props.refresh
  });
  const aliases = Object.entries(model.aliases ?? {}).sort(([a], [b]) =>
    a.localeCompare(b)
  );

  return (
    <li className="lc-model" data-model={model.name}>
      <div
        className="lc-model-head"
        role="button"
        tabIndex={0}
        aria-expanded={props.open}
        onClick={props.onToggle}
        onKeyDown={e => {
          if (e.key === 'Enter' || e.key === ' ') {
            e.preventDefault();
            props.onToggle();
          }
        }}
      >
        <span className="lc-caret" aria-hidden="true">
          {props.open ? '▾' : '▸'}
        </span>
        <span className="lc-model-name">{model.name}</span>
        <span className="lc-count" title="Versions">
          {model.version_count}
        </span>
        <span className="lc-muted lc-model-age">
          {formatAgo(model.updated_at)}
        </span>
      </div>
      {aliases.length > 0 && (
        <div className="lc-model-aliases">
          {aliases.map(([alias, version]) => (
            <span className="lc-alias-group" key={alias}>
              <span
                className="lc-tag lc-alias"
                title={`${alias} → v${version}`}
              >
                @{alias}
                <span className="lc-tag-value">v{version}</span>
              </span>
              <button
                className="lc-link-button lc-deploy lc-deploy-alias"
                disabled={props.busy !== null}
                title={`Deploy ${model.name}@${alias} (follows the alias)`}
                onClick={() => props.onDeploy(`${model.name}@${alias}`)}
              >
                Deploy
              </button>
            </span>
          ))}
        </div>
      )}
      {props.open && (
        <div className="lc-model-versions">
          {!versions.data ? (
            versions.error ? (
              <ErrorState
                title="Cannot load versions"
                error={versions.error}
                onRetry={versions.reload}
              />
            ) : (
              <Loading label="Loading versions…" />
            )
          ) : (
            <ul className="lc-version-list">
              {versions.data.map(v => (
                <VersionRow
                  key={v.id}
                  version={v}
                  busy={props.busy !== null}
                  onDeploy={() => props.onDeploy(`${model.name}/${v.version}`)}
                  onSetAlias={alias => props.onSetAlias(alias, v.version)}
                />
              ))}
            </ul>
          )}
        </div>
      )}
    </li>
  );
}
