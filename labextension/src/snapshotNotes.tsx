import { ReactWidget } from '@jupyterlab/apputils';
import { DocumentRegistry, IDocumentWidget } from '@jupyterlab/docregistry';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import { PanelLayout, Widget } from '@lumino/widgets';
import * as React from 'react';

import { HubClient } from './client_hub';
import { NotesPanel } from './components/NotesPanel';
import { useSignalValue } from './hooks';
import { INote } from './models_hub';

/** The snapshots a note can be anchored on (`anchor.artifact`). */
export const ANCHORABLE = ['executed.ipynb', 'notebook.ipynb'];

interface ISnapshotInfo {
  run_id: string;
  artifact: string;
}

/** The run and artifact of a snapshot opened by LabCycle, from its metadata. */
export function snapshotInfo(metadata: unknown): ISnapshotInfo | null {
  const info = (metadata ?? {}) as Record<string, unknown>;
  const runId = info.run_id;
  const artifact = info.artifact;
  if (typeof runId !== 'string' || typeof artifact !== 'string') {
    return null;
  }
  return ANCHORABLE.includes(artifact) ? { run_id: runId, artifact } : null;
}

/** The anchored notes of one snapshot, fetched once per notebook and shared by its cells. */
class SnapshotNotes {
  constructor(
    readonly hub: HubClient,
    readonly info: ISnapshotInfo
  ) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get notes(): INote[] {
    return this._notes;
  }

  /** Notes anchored on cell `index` of this snapshot (replies follow their note). */
  countFor(index: number): number {
    return this._notes.filter(
      n =>
        !n.parent_id &&
        n.anchor?.cell_index === index &&
        (n.anchor?.artifact ?? 'executed.ipynb') === this.info.artifact
    ).length;
  }

  async load(): Promise<void> {
    try {
      this._notes = await this.hub.listNotes({ run_id: this.info.run_id });
      this._changed.emit();
    } catch {
      // Counts stay as they were; the cell's own panel shows the error.
    }
  }

  private _notes: INote[] = [];
  private _changed = new Signal<this, void>(this);
}

function CellNotes(props: {
  store: SnapshotNotes;
  index: number;
  sanitize: (html: string) => string;
}): JSX.Element {
  const { store, index } = props;
  const count = useSignalValue(store.changed, () => store.countFor(index));
  const [open, setOpen] = React.useState(false);
  const anchored = React.useCallback(
    (note: INote) => {
      if ((note.anchor?.artifact ?? 'executed.ipynb') !== store.info.artifact) {
        return false;
      }
      if (note.anchor?.cell_index === index) {
        return true;
      }
      // Replies carry no anchor: they follow their parent's.
      const parent = store.notes.find(n => n.id === note.parent_id);
      return Boolean(parent && parent.anchor?.cell_index === index);
    },
    [store, index, count]
  );
  return (
    <div
      className={`lc-cell-notes${count ? ' lc-has-notes' : ''}`}
      data-cell-index={index}
      data-count={count}
    >
      <button
        className="lc-cell-notes-toggle"
        aria-expanded={open}
        title="Comments on this cell of the run's snapshot"
        onClick={() => setOpen(!open)}
      >
        {count ? `💬 ${count} comment${count > 1 ? 's' : ''}` : '💬 Comment'}
      </button>
      {open && (
        <NotesPanel
          hub={store.hub}
          entity={{ type: 'run', id: store.info.run_id }}
          query={{ run_id: store.info.run_id }}
          filter={anchored}
          anchor={{
            run_id: store.info.run_id,
            artifact: store.info.artifact,
            cell_index: index
          }}
          active={open}
          sanitize={props.sanitize}
          compact
          placeholder={`Comment on cell ${index + 1} (Markdown, @mentions)…`}
          onCount={() => void store.load()}
        />
      )}
    </div>
  );
}

/**
 * Comments on the cells of a run's notebook snapshot: every snapshot that
 * LabCycle opens (metadata `labcycle_snapshot`) gets, under each cell, its
 * anchored notes and a box to add one (anchor `{run_id, artifact,
 * cell_index}`).
 */
export class SnapshotNotesExtension implements DocumentRegistry.IWidgetExtension<
  IDocumentWidget,
  any
> {
  constructor(
    private _hub: HubClient,
    private _sanitize: (html: string) => string
  ) {}

  createNew(panel: IDocumentWidget): IDisposable {
    const added: Widget[] = [];
    const disposable = {
      isDisposed: false,
      dispose: () => {
        disposable.isDisposed = true;
        added.forEach(w => w.dispose());
      }
    };
    void panel.context.ready.then(() => {
      const model = panel.context.model as any;
      const metadata =
        typeof model.getMetadata === 'function'
          ? model.getMetadata('labcycle_snapshot')
          : model.metadata?.labcycle_snapshot;
      const info = snapshotInfo(metadata);
      if (!info || disposable.isDisposed) {
        return;
      }
      const store = new SnapshotNotes(this._hub, info);
      const decorate = () => {
        const cells: Widget[] = (panel.content as any).widgets ?? [];
        cells.forEach((cell, index) => {
          const layout = cell.layout;
          if (
            !(layout instanceof PanelLayout) ||
            cell.node.querySelector(':scope > .lc-cell-notes-host')
          ) {
            return;
          }
          const widget = ReactWidget.create(
            <CellNotes store={store} index={index} sanitize={this._sanitize} />
          );
          widget.addClass('lc-cell-notes-host');
          layout.addWidget(widget);
          added.push(widget);
        });
      };
      decorate();
      void store.load();
      panel.addClass('lc-snapshot-with-notes');
    });
    return disposable;
  }
}
