import { IDocumentWidget } from '@jupyterlab/docregistry';
import { Contents } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

import { LabCycleClient } from './client';
import { IArtifact, IRunDetail } from './models';

/**
 * Where snapshots are written, in order of preference. The hidden folder
 * needs `ContentsManager.allow_hidden`; without it the visible one is used.
 */
export const SNAPSHOT_ROOTS = ['.labcycle/snapshots', 'labcycle-snapshots'];

export interface ISnapshotOptions {
  client: LabCycleClient;
  contents: Contents.IManager;
  /** Open (or reveal) a saved notebook in JupyterLab. */
  open: (path: string) => Promise<IDocumentWidget | undefined>;
}

/** The first root that worked in this session. */
let workingRoot: string | null = null;

/**
 * Save a run's notebook artifact into the workspace and open it.
 *
 * The copy goes to `<root>/<run_id>/<name>.ipynb`, with every cell marked
 * non-editable and non-deletable so it reads as the record it is, and no
 * trust carried over. A copy saved before is opened as is: artifacts never
 * change.
 *
 * @returns the path of the opened notebook
 */
export async function openSnapshot(
  options: ISnapshotOptions,
  run: IRunDetail,
  artifact: IArtifact
): Promise<string> {
  const { contents } = options;
  const name = artifact.path.split('/').pop() || 'snapshot.ipynb';
  const roots = workingRoot
    ? [workingRoot, ...SNAPSHOT_ROOTS.filter(r => r !== workingRoot)]
    : SNAPSHOT_ROOTS;
  const target = (root: string) => `${root}/${run.id}/${name}`;

  for (const root of roots) {
    if (await exists(contents, target(root))) {
      workingRoot = root;
      await present(await options.open(target(root)), run);
      return target(root);
    }
  }

  const text = await options.client.fetchArtifactText(run.id, artifact.path);
  const notebook = asReadOnlyNotebook(text, run, artifact);
  let lastError: unknown = null;
  for (const root of roots) {
    const path = target(root);
    try {
      await ensureDirectory(contents, path.split('/').slice(0, -1));
      await contents.save(path, {
        type: 'notebook',
        format: 'json',
        content: notebook
      });
    } catch (error) {
      lastError = error;
      continue;
    }
    workingRoot = root;
    await present(await options.open(path), run);
    return path;
  }
  throw lastError instanceof Error
    ? lastError
    : new Error('The snapshot could not be saved in the workspace.');
}

/** Parse a notebook artifact and mark it as a read-only snapshot. */
export function asReadOnlyNotebook(
  text: string,
  run: IRunDetail,
  artifact: IArtifact
): Record<string, any> {
  let notebook: Record<string, any>;
  try {
    notebook = JSON.parse(text);
  } catch {
    throw new Error(`${artifact.path} is not a valid notebook (not JSON).`);
  }
  if (
    !notebook ||
    typeof notebook !== 'object' ||
    !Array.isArray(notebook.cells)
  ) {
    throw new Error(`${artifact.path} is not a valid notebook (no cells).`);
  }
  for (const cell of notebook.cells) {
    const metadata = {
      ...(cell.metadata ?? {}),
      editable: false,
      deletable: false
    };
    // Never carry a trust flag over: the server then signs the copy only if
    // its outputs are safe, so a shared run's HTML/JS output stays untrusted.
    delete metadata.trusted;
    cell.metadata = metadata;
  }
  notebook.metadata = {
    ...(notebook.metadata ?? {}),
    labcycle_snapshot: {
      run_id: run.id,
      run_name: run.name,
      artifact: artifact.path,
      digest: artifact.digest
    }
  };
  return notebook;
}

/**
 * Say in the notebook's toolbar and tab that it is a run's snapshot, and
 * start it clean: JupyterLab may flag a freshly opened model as dirty.
 */
async function present(
  widget: IDocumentWidget | undefined,
  run: IRunDetail
): Promise<void> {
  if (!widget) {
    return;
  }
  const name = run.name || run.id.slice(0, 8);
  const label = new Widget({ node: document.createElement('span') });
  label.addClass('lc-snapshot-label');
  label.node.textContent = `LabCycle snapshot of run ${name} · read-only`;
  label.node.title = `Run ${run.id}`;
  // insertItem refuses a name already there (a snapshot opened again).
  if (!widget.toolbar.insertItem(0, 'labcycle-snapshot', label)) {
    label.dispose();
  }
  widget.title.caption = `LabCycle snapshot of run ${name} (${run.id}), read-only`;
  await widget.context.ready;
  widget.context.model.dirty = false;
}

async function exists(
  contents: Contents.IManager,
  path: string
): Promise<boolean> {
  try {
    await contents.get(path, { content: false });
    return true;
  } catch {
    return false;
  }
}

/** Create each missing folder of `parts` (saving a folder that exists is a no-op). */
async function ensureDirectory(
  contents: Contents.IManager,
  parts: string[]
): Promise<void> {
  for (let i = 1; i <= parts.length; i++) {
    const path = parts.slice(0, i).join('/');
    if (!(await exists(contents, path))) {
      await contents.save(path, { type: 'directory' });
    }
  }
}
