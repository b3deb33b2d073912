import { ReactWidget } from '@jupyterlab/apputils';
import {
  refreshIcon,
  SidePanel,
  ToolbarButton
} from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';
import { Panel, Widget } from '@lumino/widgets';
import * as React from 'react';

import { LabCycleClient } from './client';
import { PanelView } from './components/Panel';
import { RunDetail } from './components/RunDetail';
import { useSignalValue } from './hooks';
import { labcycleIcon } from './icons';
import { IArtifact, IRun, IRunDetail } from './models';
import { IJob } from './models_jobs';
import { PANEL_ID } from './tokens';

/**
 * A ReactWidget that knows whether it is on screen, so its views poll only
 * while they can be seen (and never after disposal).
 */
export abstract class VisibleReactWidget extends ReactWidget {
  /** Emitted when the widget is shown, hidden or disposed. */
  get visibilityChanged(): ISignal<this, boolean> {
    return this._visibilityChanged;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._visibilityChanged.emit(false);
    super.dispose();
    Signal.clearData(this);
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._visibilityChanged.emit(true);
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this._visibilityChanged.emit(false);
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this._visibilityChanged.emit(this.isVisible);
  }

  protected onBeforeDetach(msg: Message): void {
    this._visibilityChanged.emit(false);
    super.onBeforeDetach(msg);
  }

  private _visibilityChanged = new Signal<this, boolean>(this);
}

/** Live visibility of a widget, for a React view inside it. */
export function useWidgetVisible(widget: VisibleReactWidget): boolean {
  const pageVisible = useSignalValue(
    pageVisibility,
    () => document.visibilityState !== 'hidden'
  );
  const visible = useSignalValue(
    widget.visibilityChanged,
    () => widget.isVisible
  );
  return visible && pageVisible;
}

/** Fires when the browser tab is hidden or shown again (no polling meanwhile). */
const pageVisibility = new Signal<Document, void>(document);
document.addEventListener('visibilitychange', () => pageVisibility.emit());

export interface IBodyOptions {
  client: LabCycleClient;
  refresh: ISignal<unknown, void>;
  onOpenRun: (run: IRun) => void;
  onOpenRunId: (runId: string, label?: string) => void;
  onOpenExecuted: (job: IJob) => Promise<void>;
  jobsRevealed: ISignal<unknown, string | null>;
}

/** The React body of the sidebar. */
class PanelBody extends VisibleReactWidget {
  constructor(private _options: IBodyOptions) {
    super();
    this.addClass('lc-panel-body');
  }

  protected render(): JSX.Element {
    return <PanelBodyView widget={this} options={this._options} />;
  }
}

function PanelBodyView(props: {
  widget: PanelBody;
  options: IBodyOptions;
}): JSX.Element {
  const visible = useWidgetVisible(props.widget);
  const { client, refresh, onOpenRun } = props.options;
  return (
    <PanelView
      client={client}
      visible={visible}
      refresh={refresh}
      onOpenRun={onOpenRun}
      onOpenRunId={props.options.onOpenRunId}
      onOpenExecuted={props.options.onOpenExecuted}
      jobsRevealed={props.options.jobsRevealed}
    />
  );
}

/**
 * The LabCycle sidebar: a SidePanel with a title, a toolbar and the project
 * and run browser.
 */
export class LabCycleSidebar extends SidePanel {
  constructor(options: IBodyOptions & { onRefresh: () => void }) {
    super({ content: new Panel() });
    this.id = PANEL_ID;
    this.addClass('lc-panel');
    this.title.icon = labcycleIcon;
    this.title.caption = 'LabCycle: runs, jobs and models';

    const heading = new Widget({ node: document.createElement('h2') });
    heading.node.textContent = 'LabCycle';
    heading.addClass('lc-panel-heading');
    this.header.addWidget(heading);

    this.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        onClick: options.onRefresh,
        tooltip: 'Refresh runs, jobs and models'
      })
    );

    this.body = new PanelBody(options);
    this.content.addWidget(this.body);
  }

  readonly body: Widget;
}

export interface IRunDetailWidgetOptions {
  client: LabCycleClient;
  runId: string;
  refresh: ISignal<unknown, void>;
  onOpenNotebook: (run: IRunDetail, artifact: IArtifact) => Promise<void>;
  /** Re-execute the run as a new job. */
  onReproduce?: (run: IRunDetail) => Promise<void>;
}

/** The detail of one run, shown in a main-area tab. */
export class RunDetailWidget extends VisibleReactWidget {
  constructor(private _options: IRunDetailWidgetOptions) {
    super();
    this.addClass('lc-run-detail-widget');
  }

  get runId(): string {
    return this._options.runId;
  }

  protected render(): JSX.Element {
    return <RunDetailView widget={this} options={this._options} />;
  }

  /** Title the tab after the run once its name is known. */
  readonly onLoaded = (run: IRunDetail): void => {
    const name = run.name || run.id.slice(0, 8);
    this.title.label = `Run: ${name}`;
    this.title.caption = `LabCycle run ${name} (${run.status})\n${run.id}`;
  };
}

function RunDetailView(props: {
  widget: RunDetailWidget;
  options: IRunDetailWidgetOptions;
}): JSX.Element {
  const visible = useWidgetVisible(props.widget);
  const { client, runId, refresh, onOpenNotebook, onReproduce } = props.options;
  return (
    <RunDetail
      client={client}
      runId={runId}
      visible={visible}
      refresh={refresh}
      onOpenNotebook={onOpenNotebook}
      onReproduce={onReproduce}
      onLoaded={props.widget.onLoaded}
    />
  );
}
