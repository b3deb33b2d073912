import * as React from 'react';

/** Above this many params a filter box is offered. */
const FILTER_FROM = 12;

/** The run's params (or any key → value map), sorted by key. */
export function ParamsTable(props: {
  params: Record<string, string>;
  /** Root class; `lc-params` for the run's params. */
  className?: string;
  /** What a key is called: "param", "package"… */
  noun?: string;
}): JSX.Element {
  const noun = props.noun ?? 'param';
  const [query, setQuery] = React.useState('');
  const entries = Object.entries(props.params ?? {}).sort(([a], [b]) =>
    a.localeCompare(b)
  );
  const needle = query.trim().toLowerCase();
  const shown = needle
    ? entries.filter(
        ([key, value]) =>
          key.toLowerCase().includes(needle) ||
          String(value).toLowerCase().includes(needle)
      )
    : entries;
  return (
    <div className={props.className ?? 'lc-params'}>
      {entries.length === 0 ? (
        <div className="lc-muted">No {noun}s logged.</div>
      ) : (
        <>
          {entries.length >= FILTER_FROM && (
            <input
              className="lc-filter jp-mod-styled"
              type="search"
              placeholder={`Filter ${entries.length} ${noun}s…`}
              value={query}
              onChange={event => setQuery(event.target.value)}
            />
          )}
          <table className="lc-table lc-kv-table">
            <thead>
              <tr>
                <th className="lc-capitalize">{noun}</th>
                <th>Value</th>
              </tr>
            </thead>
            <tbody>
              {shown.map(([key, value]) => (
                <tr key={key} data-key={key}>
                  <td className="lc-key">{key}</td>
                  <td className="lc-value">{String(value)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
