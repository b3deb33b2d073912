import { ReactWidget } from '@jupyterlab/apputils';
import * as React from 'react';

import { ICreateSweep, ISubmitJob, ParamValue } from './models_jobs';
import {
  coerceInput,
  formatValue,
  INotebookParameter,
  IParsedParameters,
  parseSweepValues
} from './params';

interface IFieldState {
  text: string;
  sweep: boolean;
}

interface IFormState {
  fields: Record<string, IFieldState>;
  experiment: string;
  timeout: string;
  parallel: string;
}

/** What the dialog asks the server for. */
export type RunRequest =
  | { kind: 'job'; body: ISubmitJob }
  | { kind: 'sweep'; body: ICreateSweep; trials: number };

/**
 * The body of the "Run as experiment…" dialog: one field per parameter of
 * the notebook's `parameters` cell, each of which can become a list of
 * values to sweep over (a grid).
 */
export class RunDialogBody extends ReactWidget {
  constructor(
    private readonly _notebook: string,
    private readonly _parsed: IParsedParameters
  ) {
    super();
    this.addClass('lc-run-dialog');
    const fields: Record<string, IFieldState> = {};
    for (const p of _parsed.parameters) {
      fields[p.name] = { text: formatValue(p.value), sweep: false };
    }
    const base = _notebook.split('/').pop() ?? _notebook;
    this._state = {
      fields,
      experiment: base.replace(/\.ipynb$/i, ''),
      timeout: '',
      parallel: '2'
    };
  }

  /** The request to send, or an Error saying which field is wrong. */
  getValue(): RunRequest | Error {
    try {
      return buildRequest(this._notebook, this._parsed.parameters, this._state);
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  protected render(): JSX.Element {
    return (
      <RunForm
        notebook={this._notebook}
        parsed={this._parsed}
        initial={this._state}
        onChange={state => (this._state = state)}
      />
    );
  }

  private _state: IFormState;
}

function buildRequest(
  notebook: string,
  parameters: INotebookParameter[],
  state: IFormState
): RunRequest {
  const fixed: Record<string, ParamValue> = {};
  const grid: Record<string, ParamValue[]> = {};
  for (const p of parameters) {
    const field = state.fields[p.name];
    try {
      if (field.sweep) {
        grid[p.name] = parseSweepValues(field.text, p.value);
      } else {
        fixed[p.name] = coerceInput(field.text, p.value);
      }
    } catch (error) {
      throw new Error(`${p.name}: ${(error as Error).message}`);
    }
  }
  const experiment = state.experiment.trim() || undefined;
  let timeout: number | undefined;
  if (state.timeout.trim()) {
    timeout = Number(state.timeout);
    if (!Number.isFinite(timeout) || timeout <= 0) {
      throw new Error('Timeout: give a number of seconds above 0');
    }
  }
  if (Object.keys(grid).length === 0) {
    return {
      kind: 'job',
      body: { notebook, parameters: fixed, experiment, timeout_s: timeout }
    };
  }
  const parallel = Number(state.parallel);
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 256) {
    throw new Error('Parallelism: give a whole number from 1 to 256');
  }
  const trials = Object.values(grid).reduce((n, v) => n * v.length, 1);
  return {
    kind: 'sweep',
    trials,
    body: {
      notebook,
      grid,
      parameters: fixed,
      parallel,
      experiment,
      timeout_s: timeout
    }
  };
}

function RunForm(props: {
  notebook: string;
  parsed: IParsedParameters;
  initial: IFormState;
  onChange: (state: IFormState) => void;
}): JSX.Element {
  const [state, setState] = React.useState<IFormState>(props.initial);
  const update = (next: IFormState) => {
    setState(next);
    props.onChange(next);
  };
  const setField = (name: string, change: Partial<IFieldState>) =>
    update({
      ...state,
      fields: { ...state.fields, [name]: { ...state.fields[name], ...change } }
    });
  const request = React.useMemo(() => {
    try {
      return buildRequest(props.notebook, props.parsed.parameters, state);
    } catch (error) {
      return error as Error;
    }
  }, [state]);
  const sweeping = Object.values(state.fields).some(f => f.sweep);
  const { parameters, found, skipped } = props.parsed;

  return (
    <form className="lc-run-form" onSubmit={e => e.preventDefault()}>
      <div className="lc-run-notebook lc-muted">
        Runs the saved <code>{props.notebook}</code> in a new kernel, as a run.
      </div>
      <fieldset className="lc-run-params">
        <legend>Parameters</legend>
        {!found && (
          <div className="lc-hint lc-no-parameters">
            This notebook has no cell tagged <code>parameters</code>: it runs as
            it is. Tag a cell of <code>name = value</code> lines to get a form
            here.
          </div>
        )}
        {found && parameters.length === 0 && (
          <div className="lc-hint">
            The <code>parameters</code> cell assigns no simple literals.
          </div>
        )}
        {parameters.map(p => {
          const field = state.fields[p.name];
          const id = `lc-param-${p.name}`;
          return (
            <div className="lc-param-field" data-param={p.name} key={p.name}>
              <label htmlFor={id} className="lc-param-name">
                {p.name}
              </label>
              <input
                id={id}
                className="jp-mod-styled lc-param-input"
                name={p.name}
                value={field.text}
                placeholder={field.sweep ? `e.g. ${p.source}, …` : p.source}
                title={`Default: ${p.source}`}
                onChange={e => setField(p.name, { text: e.target.value })}
              />
              <label className="lc-param-sweep-toggle">
                <input
                  type="checkbox"
                  checked={field.sweep}
                  onChange={e => setField(p.name, { sweep: e.target.checked })}
                />
                sweep values
              </label>
              <span className="lc-param-type lc-muted">
                {field.sweep ? 'comma-separated' : typeName(p.value)}
              </span>
            </div>
          );
        })}
        {skipped.length > 0 && (
          <div className="lc-hint lc-skipped-parameters">
            Not editable here (not a simple literal): {skipped.join(', ')}
          </div>
        )}
      </fieldset>
      <fieldset className="lc-run-options">
        <legend>Run</legend>
        <label className="lc-run-option">
          <span>Experiment</span>
          <input
            className="jp-mod-styled lc-run-experiment"
            value={state.experiment}
            onChange={e => update({ ...state, experiment: e.target.value })}
          />
        </label>
        <label className="lc-run-option">
          <span>Timeout (s)</span>
          <input
            className="jp-mod-styled lc-run-timeout"
            inputMode="numeric"
            placeholder="none"
            value={state.timeout}
            onChange={e => update({ ...state, timeout: e.target.value })}
          />
        </label>
        {sweeping && (
          <label className="lc-run-option">
            <span>Parallel runs</span>
            <input
              className="jp-mod-styled lc-run-parallel"
              type="number"
              min={1}
              max={256}
              value={state.parallel}
              onChange={e => update({ ...state, parallel: e.target.value })}
            />
          </label>
        )}
      </fieldset>
      <div
        className={
          request instanceof Error
            ? 'lc-run-summary lc-error-text'
            : 'lc-run-summary'
        }
        role="status"
      >
        {request instanceof Error
          ? request.message
          : request.kind === 'sweep'
            ? `Grid sweep: ${request.trials} runs, ${request.body.parallel} at a time.`
            : 'One run.'}
      </div>
    </form>
  );
}

function typeName(value: ParamValue): string {
  if (Array.isArray(value)) {
    return 'list';
  }
  if (value === null) {
    return 'None';
  }
  return (
    { string: 'str', number: 'number', boolean: 'bool' }[
      typeof value as string
    ] ?? 'value'
  );
}
