import { refreshIcon, ToolbarButtonComponent } from '@jupyterlab/ui-components';
import * as React from 'react';

import { LabCycleAPIError } from '../handler';
import { labcycleIcon } from '../icons';

/** A spinner with a line of text, while the first answer is awaited. */
export function Loading(props: { label?: string }): JSX.Element {
  return (
    <div className="lc-loading" role="status">
      <span className="lc-spinner" aria-hidden="true" />
      <span>{props.label ?? 'Loading…'}</span>
    </div>
  );
}

/** The server's message for an error, else the error's own. */
export function errorMessage(error: unknown): string {
  if (error instanceof LabCycleAPIError || error instanceof Error) {
    return error.message;
  }
  return String(error);
}

/** A failed request: what the server said, and a way to try again. */
export function ErrorState(props: {
  title?: string;
  error: unknown;
  onRetry?: () => void;
}): JSX.Element {
  const status =
    props.error instanceof LabCycleAPIError && props.error.status
      ? ` (HTTP ${props.error.status})`
      : '';
  return (
    <div className="lc-state lc-error" role="alert">
      <div className="lc-state-title">
        {props.title ?? 'Something went wrong'}
        {status}
      </div>
      <div className="lc-error-message">{errorMessage(props.error)}</div>
      {props.onRetry && (
        <button
          className="jp-Button jp-mod-styled jp-mod-accept lc-retry"
          onClick={props.onRetry}
        >
          Retry
        </button>
      )}
    </div>
  );
}

/** A one-line notice above data that could not be refreshed. */
export function StaleBanner(props: {
  error: unknown;
  onRetry: () => void;
}): JSX.Element {
  return (
    <div className="lc-banner lc-banner-error" role="alert">
      <span className="lc-banner-text">
        Could not refresh: {errorMessage(props.error)}
      </span>
      <button className="lc-link-button lc-retry" onClick={props.onRetry}>
        Retry
      </button>
    </div>
  );
}

/** How to get the first run in: shown while there is nothing to list. */
export function EmptyState(props: { title?: string }): JSX.Element {
  return (
    <div className="lc-state lc-empty">
      <labcycleIcon.react className="lc-empty-icon" tag="div" />
      <div className="lc-state-title">{props.title ?? 'No runs yet'}</div>
      <p>Track a notebook: run these lines in a cell.</p>
      <pre className="lc-code">
        {'%load_ext labcycle\n%lc start --experiment NAME'}
      </pre>
      <p className="lc-muted">
        Every cell you run is then recorded with its parameters, metrics and
        artifacts, and shows up here as it happens.
      </p>
    </div>
  );
}

/** The toolbar's refresh button of a view. */
export function RefreshButton(props: { onClick: () => void }): JSX.Element {
  return (
    <ToolbarButtonComponent
      icon={refreshIcon}
      onClick={props.onClick}
      tooltip="Refresh"
      className="lc-refresh"
    />
  );
}
