import { caretDownIcon, caretRightIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { formatRelative } from '../format';
import { IExperiment, IProject } from '../models';

/** A project and its experiments, as the tree shows them. */
export interface IProjectGroup {
  id: string;
  name: string;
  description: string | null;
  experiments: IExperiment[];
}

/**
 * Group experiments under their projects. Projects without experiments are
 * kept; experiments whose project is not listed get a group of their own.
 */
export function groupProjects(
  projects: IProject[],
  experiments: IExperiment[]
): IProjectGroup[] {
  const groups = new Map<string, IProjectGroup>();
  for (const project of projects) {
    groups.set(project.id, {
      id: project.id,
      name: project.name,
      description: project.description,
      experiments: []
    });
  }
  for (const experiment of experiments) {
    let group = groups.get(experiment.project_id);
    if (!group) {
      group = {
        id: experiment.project_id,
        name: experiment.project_name || experiment.project_id,
        description: null,
        experiments: []
      };
      groups.set(group.id, group);
    }
    group.experiments.push(experiment);
  }
  const byName = (a: { name: string }, b: { name: string }) =>
    a.name.localeCompare(b.name);
  const result = [...groups.values()].sort(byName);
  for (const group of result) {
    group.experiments.sort(byName);
  }
  return result;
}

export interface IProjectTreeProps {
  groups: IProjectGroup[];
  selectedExperimentId: string | null;
  collapsed: ReadonlySet<string>;
  onToggleProject: (projectId: string) => void;
  onSelectExperiment: (experiment: IExperiment) => void;
}

/** Projects → experiments, as an ARIA tree. */
export function ProjectTree(props: IProjectTreeProps): JSX.Element {
  return (
    <ul className="lc-tree" role="tree" aria-label="Projects and experiments">
      {props.groups.map(group => {
        const open = !props.collapsed.has(group.id);
        const Caret = open ? caretDownIcon : caretRightIcon;
        return (
          <li
            key={group.id}
            className="lc-tree-project"
            role="treeitem"
            aria-expanded={open}
            data-project-id={group.id}
          >
            <div
              className="lc-tree-row lc-tree-project-row"
              onClick={() => props.onToggleProject(group.id)}
              onKeyDown={event =>
                activateOnKey(event, () => props.onToggleProject(group.id))
              }
              tabIndex={0}
              title={group.description || group.name}
            >
              <Caret.react className="lc-tree-caret" tag="span" />
              <span className="lc-tree-label">{group.name}</span>
              <span className="lc-count" title="Experiments">
                {group.experiments.length}
              </span>
            </div>
            {open && (
              <ul role="group">
                {group.experiments.length === 0 && (
                  <li className="lc-tree-none">No experiments</li>
                )}
                {group.experiments.map(experiment => {
                  const selected = experiment.id === props.selectedExperimentId;
                  const select = () => props.onSelectExperiment(experiment);
                  return (
                    <li
                      key={experiment.id}
                      role="treeitem"
                      aria-selected={selected}
                      className={
                        'lc-tree-row lc-tree-experiment' +
                        (selected ? ' lc-selected' : '')
                      }
                      data-experiment-id={experiment.id}
                      onClick={select}
                      onKeyDown={event => activateOnKey(event, select)}
                      tabIndex={0}
                      title={
                        (experiment.description
                          ? `${experiment.description}\n`
                          : '') +
                        `Last run: ${formatRelative(experiment.last_run_at)}`
                      }
                    >
                      <span className="lc-tree-label">{experiment.name}</span>
                      <span className="lc-count" title="Runs">
                        {experiment.run_count}
                      </span>
                    </li>
                  );
                })}
              </ul>
            )}
          </li>
        );
      })}
    </ul>
  );
}

/** Enter or Space act like a click, for keyboard users. */
export function activateOnKey(
  event: React.KeyboardEvent,
  action: () => void
): void {
  if (event.key === 'Enter' || event.key === ' ') {
    event.preventDefault();
    action();
  }
}
