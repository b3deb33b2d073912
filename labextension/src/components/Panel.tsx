import { ISignal } from '@lumino/signaling';
import * as React from 'react';

import { LabCycleClient } from '../client';
import { LabCycleAPIError } from '../handler';
import { usePoll } from '../hooks';
import { IRun, IVersionInfo } from '../models';
import { FRONTEND_VERSION } from '../version';
import { Browser } from './Browser';
import { ErrorState, Loading } from './States';

export interface IPanelViewProps {
  client: LabCycleClient;
  /** Whether the panel is on screen: nothing is polled while it is not. */
  visible: boolean;
  refresh: ISignal<unknown, void>;
  onOpenRun: (run: IRun) => void;
}

/**
 * The sidebar's content: checks the server extension first, then shows the
 * project browser.
 */
export function PanelView(props: IPanelViewProps): JSX.Element {
  const { client, visible, refresh } = props;
  const fetchVersion = React.useCallback(() => client.getVersion(), [client]);
  const check = usePoll<IVersionInfo>(fetchVersion, {
    interval: 5000,
    active: visible,
    key: 'version',
    refresh,
    // Checked once it answers; a failed check is retried with back-off.
    done: () => true
  });

  if (!check.data) {
    if (check.error) {
      return <ServerProblem error={check.error} onRetry={check.reload} />;
    }
    return <Loading label="Connecting to the LabCycle server extension…" />;
  }
  return (
    <>
      {check.data.version !== FRONTEND_VERSION && (
        <div
          className="lc-banner lc-banner-warn lc-version-warning"
          role="status"
        >
          LabCycle versions differ: the server extension is{' '}
          <code>{check.data.version}</code>, this panel is{' '}
          <code>{FRONTEND_VERSION}</code>. Reinstall <code>labcycle</code> with
          pip and reload the page.
        </div>
      )}
      <Browser
        client={client}
        visible={visible}
        refresh={refresh}
        onOpenRun={props.onOpenRun}
      />
    </>
  );
}

/** The server extension is missing, or the server cannot be reached. */
function ServerProblem(props: {
  error: Error;
  onRetry: () => void;
}): JSX.Element {
  const { error } = props;
  if (error instanceof LabCycleAPIError && error.isNotFound) {
    return (
      <div className="lc-state lc-error lc-server-missing" role="alert">
        <div className="lc-state-title">
          LabCycle server extension not found
        </div>
        <p>
          LabCycle server extension is not installed or not enabled: run{' '}
          <code>jupyter server extension enable labcycle</code>
        </p>
        <p className="lc-muted">
          Then restart the Jupyter server. <code>pip install labcycle</code>{' '}
          installs and enables both halves of LabCycle.
        </p>
        <button className="lc-link-button lc-retry" onClick={props.onRetry}>
          Check again
        </button>
      </div>
    );
  }
  return (
    <ErrorState
      title="Cannot reach the LabCycle server extension"
      error={error}
      onRetry={props.onRetry}
    />
  );
}
