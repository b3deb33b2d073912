import * as React from 'react';

import { RunStatus } from '../models';

const KNOWN: ReadonlyArray<string> = [
  'running',
  'finished',
  'failed',
  'killed'
];

/** A run's status as a coloured pill; a running run pulses. */
export function StatusBadge(props: {
  status: RunStatus | string;
}): JSX.Element {
  const status = KNOWN.includes(props.status) ? props.status : 'unknown';
  return (
    <span
      className={`lc-status lc-status-${status}`}
      data-status={props.status}
      title={`Status: ${props.status}`}
    >
      <span className="lc-status-dot" aria-hidden="true" />
      {props.status}
    </span>
  );
}
