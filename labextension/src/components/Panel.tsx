import { ISignal } from '@lumino/signaling';
import * as React from 'react';

import { LabCycleClient } from '../client';
import { LabCycleAPIError } from '../handler';
import { usePoll, useSignalValue } from '../hooks';
import { IRun, IVersionInfo } from '../models';
import { IJob } from '../models_jobs';
import { FRONTEND_VERSION } from '../version';
import { Browser } from './Browser';
import { hubSection, HubSection } from './HubSection';
import { JobsSection } from './JobsSection';
import { ModelsSection } from './ModelsSection';
import { MonitorsSection } from './MonitorsSection';
import { ErrorState, Loading } from './States';

export interface IPanelViewProps {
  client: LabCycleClient;
  /** Whether the panel is on screen: nothing is polled while it is not. */
  visible: boolean;
  refresh: ISignal<unknown, void>;
  onOpenRun: (run: IRun) => void;
  /** Open a run by id (from a job). */
  onOpenRunId: (runId: string, label?: string) => void;
  /** Open a job's executed notebook, read-only. */
  onOpenExecuted: (job: IJob) => Promise<void>;
  /** Fires with a job or sweep id when the Jobs section should show it. */
  jobsRevealed: ISignal<unknown, string | null>;
}

type SectionId = 'hub' | 'runs' | 'jobs' | 'models' | 'monitors';

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

  const hub = useSignalValue(hubSection.changed, () => hubSection.value);
  const [open, setOpen] = React.useState<Record<SectionId, boolean>>({
    hub: true,
    runs: true,
    jobs: false,
    models: false,
    monitors: false
  });
  const [focusId, setFocusId] = React.useState<string | null>(null);
  const jobsRef = React.useRef<HTMLElement>(null);
  React.useEffect(() => {
    const onReveal = (_: unknown, id: string | null) => {
      setOpen(previous => ({ ...previous, jobs: true }));
      setFocusId(id);
      window.requestAnimationFrame(() =>
        jobsRef.current?.scrollIntoView({ block: 'nearest' })
      );
    };
    props.jobsRevealed.connect(onReveal);
    return () => {
      props.jobsRevealed.disconnect(onReveal);
    };
  }, [props.jobsRevealed]);
  // The hub command (palette, launcher) opens the Hub section first.
  React.useEffect(() => {
    const signal = hub?.searchRequested;
    if (!signal) {
      return;
    }
    const onRequest = () => setOpen(previous => ({ ...previous, hub: true }));
    signal.connect(onRequest);
    return () => {
      signal.disconnect(onRequest);
    };
  }, [hub]);
  const toggle = (id: SectionId) =>
    setOpen(previous => ({ ...previous, [id]: !previous[id] }));

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
      <div className="lc-sections">
        {hub && (
          <PanelSection id="hub" title="Hub" open={open.hub} onToggle={toggle}>
            <HubSection
              {...hub}
              active={visible && open.hub}
              refresh={refresh}
            />
          </PanelSection>
        )}
        <PanelSection
          id="runs"
          title="Experiments & runs"
          open={open.runs}
          onToggle={toggle}
        >
          <Browser
            client={client}
            visible={visible && open.runs}
            refresh={refresh}
            onOpenRun={props.onOpenRun}
          />
        </PanelSection>
        <PanelSection
          id="jobs"
          title="Jobs"
          open={open.jobs}
          onToggle={toggle}
          sectionRef={jobsRef}
        >
          <JobsSection
            client={client}
            active={visible && open.jobs}
            refresh={refresh}
            focusId={focusId}
            onOpenRun={props.onOpenRunId}
            onOpenExecuted={props.onOpenExecuted}
          />
        </PanelSection>
        <PanelSection
          id="models"
          title="Models & deployments"
          open={open.models}
          onToggle={toggle}
        >
          <ModelsSection
            client={client}
            active={visible && open.models}
            refresh={refresh}
          />
        </PanelSection>
        <PanelSection
          id="monitors"
          title="Monitors"
          open={open.monitors}
          onToggle={toggle}
        >
          <MonitorsSection
            client={client}
            active={visible && open.monitors}
            refresh={refresh}
          />
        </PanelSection>
      </div>
    </>
  );
}

/** A collapsible part of the sidebar: Hub, Runs, Jobs, Models or Monitors. */
function PanelSection(props: {
  id: SectionId;
  title: string;
  open: boolean;
  onToggle: (id: SectionId) => void;
  sectionRef?: React.RefObject<HTMLElement>;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <section
      ref={props.sectionRef}
      className={`lc-panel-section lc-panel-section-${props.id}${props.id === 'runs' ? '' : ` lc-${props.id}`}${props.open ? ' lc-open' : ''}`}
      data-section={props.id}
      aria-label={props.title}
    >
      <button
        className="lc-panel-section-header"
        aria-expanded={props.open}
        onClick={() => props.onToggle(props.id)}
      >
        <span className="lc-caret" aria-hidden="true">
          {props.open ? '▾' : '▸'}
        </span>
        {props.title}
      </button>
      {props.open && (
        <div className="lc-panel-section-body">{props.children}</div>
      )}
    </section>
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
