/**
 * Every LabCycle command id, in one place, with the arguments each takes.
 *
 * Shared by the L1 shell (sidebar, hub, project tab, notes) and the L2 views
 * (comparison, lineage, model version review): a view opens another by
 * `app.commands.execute(CommandIDs.x, args)`, never by importing its widget.
 */
export namespace CommandIDs {
  // --- panel and runs (existing) ---
  /** Show the LabCycle sidebar. No args. */
  export const openPanel = 'labcycle:open-panel';
  /** Ask every LabCycle view to reload. No args. */
  export const refresh = 'labcycle:refresh';
  /** Open a run tab. Args: `{runId: string, label?: string}`. */
  export const openRun = 'labcycle:open-run';
  /** Run the current notebook as an experiment (job/sweep dialog). */
  export const runAsExperiment = 'labcycle:run-as-experiment';
  /** Show the Jobs section. Args: `{id?: string}` (a job or sweep id first). */
  export const showJobs = 'labcycle:show-jobs';

  // --- hub (L1) ---
  /**
   * Show the Hub section and focus its search box.
   * Args: `{query?: string}` (prefill and run a search).
   */
  export const openHub = 'labcycle:open-hub';
  /**
   * Open a project tab. Args: `{projectId?: string, name?: string}` (an id or
   * a name; without either the user is asked to pick one).
   */
  export const openProject = 'labcycle:open-project';
  /**
   * Import a folder as a project. Args: `{path?: string}` (server-relative;
   * default: the file browser's current folder, or the folder right-clicked).
   */
  export const importProject = 'labcycle:import-project';
  /**
   * Compare the runs selected in the sidebar's runs table (2–50): calls
   * `openComparison` with their ids. No args.
   */
  export const compareSelected = 'labcycle:compare-selected-runs';
  /**
   * Open the notes of an entity in its tab (or a notes tab).
   * Args: `{type: string, id: string}`.
   */
  export const openNotes = 'labcycle:open-notes';
  /**
   * Open the audit log tab (who did what, when, before/after).
   * Args: `{project?, user?, action?, entity_type?, entity_id?, since?,
   * until?}` (all strings; `action` is an action or a dotted prefix, `since`
   * and `until` are dates `YYYY-MM-DD`, `until` inclusive).
   */
  export const openAudit = 'labcycle:open-audit';

  // --- comparison, lineage, model version review (L2) ---
  /** Open the comparison tab. Args: `{runIds: string[]}` (2–50 run ids). */
  export const openComparison = 'labcycle:open-comparison';
  /**
   * Open the lineage graph tab of any entity.
   * Args: `{type: string, id: string, title?: string}` (hub entity reference,
   * as `GET lineage/{type}/{id}` takes it).
   */
  export const openLineage = 'labcycle:open-lineage';
  /**
   * Open a model version tab (details, lineage, reviews, notes).
   * Args: `{name: string, version: number | string}` (`3` or `v3`); an
   * `{name}` alone opens the latest version.
   */
  export const openModelVersion = 'labcycle:open-model-version';
}
