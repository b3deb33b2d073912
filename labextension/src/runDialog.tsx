import { ReactWidget } from '@jupyterlab/apputils';
import * as React from 'react';

import {
  ICreateSweep,
  ISubmitJob,
  ParamValue,
  RandomSpec
} from './models_jobs';
import {
  coerceInput,
  formatValue,
  INotebookParameter,
  IParsedParameters,
  parseSweepValues
} from './params';

/** How a parameter is set: one value, a list (grid), or random draws. */
export type ParamMode = 'value' | 'grid' | 'random';
/** What a random parameter is drawn from. */
export type RandomKind = 'float' | 'int' | 'choice';

interface IFieldState {
  text: string;
  mode: ParamMode;
  kind: RandomKind;
  low: string;
  high: string;
  log: boolean;
  choices: string;
}

interface IFormState {
  fields: Record<string, IFieldState>;
  experiment: string;
  timeout: string;
  parallel: string;
  trials: string;
  seed: string;
}

/** What the dialog asks the server for. */
export type RunRequest =
  | { kind: 'job'; body: ISubmitJob }
  | {
      kind: 'sweep';
      body: ICreateSweep;
      trials: number;
      gridPoints: number;
      draws: number;
    };

const MAX_TRIALS = 10000;

function initialField(value: ParamValue): IFieldState {
  const text = formatValue(value);
  const numeric = typeof value === 'number';
  const kind: RandomKind = !numeric
    ? 'choice'
    : Number.isInteger(value)
      ? 'int'
      : 'float';
  let low = '';
  let high = '';
  if (numeric) {
    const v = value as number;
    if (kind === 'int') {
      low = String(Math.min(v, 1));
      high = String(Math.max(v * 2, v + 1, 10));
    } else {
      low = String(v > 0 ? v / 10 : v - 1);
      high = String(v > 0 ? v * 10 : v + 1);
    }
  }
  const choices =
    typeof value === 'boolean' ? 'True, False' : numeric ? text : '';
  return { text, mode: 'value', kind, low, high, log: false, choices };
}

/**
 * The body of the "Run as experiment…" dialog: one field per parameter of
 * the notebook's `parameters` cell, each of which can be one value, a list
 * of values to sweep over (a grid) or a random search (a range or choices,
 * with a number of trials and a seed).
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
      fields[p.name] = initialField(p.value);
    }
    const base = _notebook.split('/').pop() ?? _notebook;
    this._state = {
      fields,
      experiment: base.replace(/\.ipynb$/i, ''),
      timeout: '',
      parallel: '2',
      trials: '10',
      // A seed is always sent, so a random search can be repeated exactly.
      seed: String(Math.floor(Math.random() * 1000000))
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

function parseBound(text: string, what: string, integer: boolean): number {
  const trimmed = text.trim();
  const value = Number(trimmed);
  if (trimmed === '' || !Number.isFinite(value)) {
    throw new Error(`give the ${what} as a number`);
  }
  if (integer && !Number.isInteger(value)) {
    throw new Error(
      `the ${what} of a whole-number range must be a whole number`
    );
  }
  return value;
}

/** A random parameter in the service's format (see `sweep_space.py`). */
export function randomSpec(field: IFieldState, like: ParamValue): RandomSpec {
  if (field.kind === 'choice') {
    return {
      distribution: 'choice',
      values: parseSweepValues(field.choices, like)
    };
  }
  const integer = field.kind === 'int';
  const low = parseBound(field.low, 'minimum', integer);
  const high = parseBound(field.high, 'maximum', integer);
  if (high < low) {
    throw new Error(`the maximum (${high}) is below the minimum (${low})`);
  }
  if (integer) {
    return { distribution: 'randint', low, high };
  }
  if (field.log && low <= 0) {
    throw new Error('a log scale needs a minimum above 0');
  }
  return { distribution: field.log ? 'loguniform' : 'uniform', low, high };
}

function parseWhole(
  text: string,
  what: string,
  min: number,
  max: number
): number {
  const value = Number(text.trim());
  if (
    text.trim() === '' ||
    !Number.isInteger(value) ||
    value < min ||
    value > max
  ) {
    throw new Error(`${what}: give a whole number from ${min} to ${max}`);
  }
  return value;
}

function buildRequest(
  notebook: string,
  parameters: INotebookParameter[],
  state: IFormState
): RunRequest {
  const fixed: Record<string, ParamValue> = {};
  const grid: Record<string, ParamValue[]> = {};
  const random: Record<string, RandomSpec> = {};
  for (const p of parameters) {
    const field = state.fields[p.name];
    try {
      if (field.mode === 'grid') {
        grid[p.name] = parseSweepValues(field.text, p.value);
      } else if (field.mode === 'random') {
        random[p.name] = randomSpec(field, p.value);
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
  const hasGrid = Object.keys(grid).length > 0;
  const hasRandom = Object.keys(random).length > 0;
  if (!hasGrid && !hasRandom) {
    return {
      kind: 'job',
      body: { notebook, parameters: fixed, experiment, timeout_s: timeout }
    };
  }
  const parallel = Number(state.parallel);
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 256) {
    throw new Error('Parallelism: give a whole number from 1 to 256');
  }
  const gridPoints = Object.values(grid).reduce((n, v) => n * v.length, 1);
  let draws = 1;
  let seed: number | undefined;
  if (hasRandom) {
    draws = parseWhole(state.trials, 'Trials', 1, MAX_TRIALS);
    if (state.seed.trim()) {
      seed = parseWhole(state.seed, 'Seed', 0, 2 ** 31 - 1);
    }
  }
  const trials = gridPoints * draws;
  if (trials > MAX_TRIALS) {
    throw new Error(
      `The sweep makes ${trials} runs; at most ${MAX_TRIALS} per sweep`
    );
  }
  const body: ICreateSweep = {
    notebook,
    parameters: fixed,
    parallel,
    experiment,
    timeout_s: timeout
  };
  if (hasGrid) {
    body.grid = grid;
  }
  if (hasRandom) {
    body.random = random;
    body.n_trials = draws;
    body.seed = seed;
  }
  return { kind: 'sweep', trials, gridPoints, draws, body };
}

function summary(request: RunRequest): string {
  if (request.kind === 'job') {
    return 'One run.';
  }
  const { body, trials, gridPoints, draws } = request;
  const at = `${body.parallel} at a time`;
  if (!body.random) {
    return `Grid sweep: ${trials} runs, ${at}.`;
  }
  const seed = body.seed === undefined ? 'no seed' : `seed ${body.seed}`;
  if (!body.grid) {
    return `Random search: ${trials} runs (${seed}), ${at}.`;
  }
  return `Random search × grid: ${draws} draws × ${gridPoints} points = ${trials} runs (${seed}), ${at}.`;
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
  const sweeping = Object.values(state.fields).some(f => f.mode !== 'value');
  const randomising = Object.values(state.fields).some(
    f => f.mode === 'random'
  );
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
          const numeric = typeof p.value === 'number';
          return (
            <div
              className="lc-param-field"
              data-param={p.name}
              data-mode={field.mode}
              key={p.name}
            >
              <label htmlFor={id} className="lc-param-name">
                {p.name}
              </label>
              {field.mode !== 'random' ? (
                <input
                  id={id}
                  className="jp-mod-styled lc-param-input"
                  name={p.name}
                  value={field.text}
                  placeholder={
                    field.mode === 'grid' ? `e.g. ${p.source}, …` : p.source
                  }
                  title={`Default: ${p.source}`}
                  onChange={e => setField(p.name, { text: e.target.value })}
                />
              ) : (
                <RandomField
                  id={id}
                  field={field}
                  numeric={numeric}
                  source={p.source}
                  onChange={change => setField(p.name, change)}
                />
              )}
              <select
                className="jp-mod-styled lc-param-mode"
                aria-label={`How ${p.name} is set`}
                value={field.mode}
                onChange={e =>
                  setField(p.name, { mode: e.target.value as ParamMode })
                }
              >
                <option value="value">value</option>
                <option value="grid">grid (list)</option>
                <option value="random">random</option>
              </select>
              <span className="lc-param-type lc-muted">
                {field.mode === 'grid'
                  ? 'comma-separated'
                  : field.mode === 'random'
                    ? 'drawn per trial'
                    : typeName(p.value)}
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
        {randomising && (
          <label className="lc-run-option">
            <span>Trials</span>
            <input
              className="jp-mod-styled lc-run-trials"
              type="number"
              min={1}
              max={MAX_TRIALS}
              title="How many random draws (each crossed with every grid point)"
              value={state.trials}
              onChange={e => update({ ...state, trials: e.target.value })}
            />
          </label>
        )}
        {randomising && (
          <label className="lc-run-option">
            <span>Seed</span>
            <input
              className="jp-mod-styled lc-run-seed"
              inputMode="numeric"
              placeholder="none (not repeatable)"
              title="The same seed draws the same trials"
              value={state.seed}
              onChange={e => update({ ...state, seed: e.target.value })}
            />
          </label>
        )}
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
        {request instanceof Error ? request.message : summary(request)}
      </div>
    </form>
  );
}

/** The inputs of a random parameter: a range (whole or real, log scale) or choices. */
function RandomField(props: {
  id: string;
  field: IFieldState;
  numeric: boolean;
  source: string;
  onChange: (change: Partial<IFieldState>) => void;
}): JSX.Element {
  const { id, field, numeric, onChange } = props;
  return (
    <div className="lc-param-random" id={id}>
      <select
        className="jp-mod-styled lc-param-kind"
        aria-label="Drawn from"
        value={field.kind}
        onChange={e => onChange({ kind: e.target.value as RandomKind })}
      >
        {numeric && <option value="float">real range</option>}
        {numeric && <option value="int">whole range</option>}
        <option value="choice">choices</option>
      </select>
      {field.kind === 'choice' ? (
        <input
          className="jp-mod-styled lc-param-choices"
          aria-label="Choices"
          placeholder={`e.g. ${props.source}, …`}
          value={field.choices}
          onChange={e => onChange({ choices: e.target.value })}
        />
      ) : (
        <>
          <input
            className="jp-mod-styled lc-param-low"
            aria-label="Minimum"
            placeholder="min"
            inputMode="decimal"
            value={field.low}
            onChange={e => onChange({ low: e.target.value })}
          />
          <input
            className="jp-mod-styled lc-param-high"
            aria-label="Maximum"
            placeholder="max"
            inputMode="decimal"
            value={field.high}
            onChange={e => onChange({ high: e.target.value })}
          />
          {field.kind === 'float' && (
            <label
              className="lc-param-log"
              title="Draw uniformly on a log scale (loguniform; the minimum must be above 0)"
            >
              <input
                type="checkbox"
                checked={field.log}
                onChange={e => onChange({ log: e.target.checked })}
              />
              log
            </label>
          )}
        </>
      )}
    </div>
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
