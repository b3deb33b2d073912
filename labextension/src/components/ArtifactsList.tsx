import { downloadIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { formatBytes, formatDate, formatRelative } from '../format';
import { IArtifact } from '../models';

/** True for a notebook artifact that can be opened as a snapshot. */
export function isNotebook(artifact: IArtifact): boolean {
  return artifact.path.toLowerCase().endsWith('.ipynb');
}

export interface IArtifactsListProps {
  artifacts: IArtifact[];
  /** The download URL of an artifact. */
  urlFor: (artifact: IArtifact) => string;
  /** Open a notebook artifact in JupyterLab. */
  onOpenNotebook: (artifact: IArtifact) => void;
}

/** The run's artifacts with their sizes and download links. */
export function ArtifactsList(props: IArtifactsListProps): JSX.Element {
  const artifacts = [...props.artifacts].sort((a, b) =>
    a.path.localeCompare(b.path)
  );
  return (
    <div className="lc-artifacts">
      {artifacts.length === 0 ? (
        <div className="lc-muted">No artifacts logged.</div>
      ) : (
        <table className="lc-table">
          <thead>
            <tr>
              <th>Name</th>
              <th className="lc-num">Size</th>
              <th>Type</th>
              <th>Logged</th>
              <th aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {artifacts.map(artifact => {
              const name = artifact.path.split('/').pop() || artifact.path;
              return (
                <tr
                  key={artifact.path}
                  className="lc-artifact-row"
                  data-path={artifact.path}
                >
                  <td
                    className="lc-key"
                    title={`${artifact.path}\n${artifact.digest}`}
                  >
                    <a
                      className="lc-artifact-link"
                      href={props.urlFor(artifact)}
                      download={name}
                      title={`Download ${artifact.path}`}
                    >
                      {artifact.path}
                    </a>
                  </td>
                  <td className="lc-num lc-nowrap">
                    {formatBytes(artifact.size)}
                  </td>
                  <td className="lc-muted">{artifact.media_type ?? '—'}</td>
                  <td
                    className="lc-nowrap"
                    title={formatDate(artifact.created_at)}
                  >
                    {formatRelative(artifact.created_at)}
                  </td>
                  <td className="lc-actions">
                    {isNotebook(artifact) && (
                      <button
                        className="lc-link-button lc-open-artifact"
                        onClick={() => props.onOpenNotebook(artifact)}
                        title="Open this notebook in JupyterLab (read-only copy)"
                      >
                        Open
                      </button>
                    )}
                    <a
                      className="lc-icon-link"
                      href={props.urlFor(artifact)}
                      download={name}
                      title={`Download ${name}`}
                      aria-label={`Download ${name}`}
                    >
                      <downloadIcon.react tag="span" />
                    </a>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}
