/**
 * Read a notebook's papermill `parameters` cell in the browser.
 *
 * Only simple top-level `name = literal` assignments are understood:
 * numbers, strings, booleans, None and (nested) lists of those. Anything
 * else (an expression, a call) is reported as skipped, never evaluated.
 */
import { ParamValue } from './models_jobs';

export interface INotebookParameter {
  name: string;
  value: ParamValue;
  /** The literal as written, for the form's placeholder. */
  source: string;
}

export interface IParsedParameters {
  /** Whether the notebook has a cell tagged `parameters`. */
  found: boolean;
  parameters: INotebookParameter[];
  /** Names assigned something that is not a literal. */
  skipped: string[];
}

interface ICellJSON {
  cell_type?: string;
  source?: string | string[];
  metadata?: { tags?: unknown };
}

/** The `parameters` cell of a notebook (nbformat JSON), parsed. */
export function readParameters(notebook: unknown): IParsedParameters {
  const cells = (notebook as { cells?: ICellJSON[] } | null)?.cells ?? [];
  const cell = cells.find(
    c =>
      c.cell_type === 'code' &&
      Array.isArray(c.metadata?.tags) &&
      (c.metadata!.tags as unknown[]).includes('parameters')
  );
  if (!cell) {
    return { found: false, parameters: [], skipped: [] };
  }
  const source = Array.isArray(cell.source)
    ? cell.source.join('')
    : (cell.source ?? '');
  return { found: true, ...parseAssignments(source) };
}

const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)\s*(?::[^=]+)?=(?!=)\s*(.*)$/;

/** Parse `name = literal` lines; comments and blank lines are ignored. */
export function parseAssignments(source: string): {
  parameters: INotebookParameter[];
  skipped: string[];
} {
  const parameters: INotebookParameter[] = [];
  const skipped: string[] = [];
  for (const raw of source.split('\n')) {
    if (/^\s/.test(raw)) {
      continue; // indented: inside a block, not a top-level parameter
    }
    const match = ASSIGNMENT.exec(raw.trim());
    if (!match) {
      continue;
    }
    const [, name, rest] = match;
    const literal = stripComment(rest).trim();
    const value = parseLiteral(literal);
    const index = parameters.findIndex(p => p.name === name);
    if (index >= 0) {
      parameters.splice(index, 1);
    }
    if (value === undefined) {
      skipped.push(name);
    } else {
      parameters.push({ name, value: value.value, source: literal });
    }
  }
  return { parameters, skipped };
}

/** A Python literal, or undefined when it is not a simple one. */
export function parseLiteral(text: string): { value: ParamValue } | undefined {
  const parser = new LiteralParser(text);
  try {
    const value = parser.value();
    parser.skipSpace();
    return parser.atEnd() ? { value } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What the user typed in a field, as a value of the parameter's kind: the
 * default's type decides (a string field stays a string).
 */
export function coerceInput(text: string, like: ParamValue): ParamValue {
  const trimmed = text.trim();
  if (typeof like === 'string') {
    return text;
  }
  if (typeof like === 'number') {
    const number = Number(trimmed);
    if (trimmed === '' || !Number.isFinite(number)) {
      throw new Error(`"${text}" is not a number`);
    }
    return number;
  }
  if (typeof like === 'boolean') {
    const lower = trimmed.toLowerCase();
    if (['true', '1', 'yes'].includes(lower)) {
      return true;
    }
    if (['false', '0', 'no'].includes(lower)) {
      return false;
    }
    throw new Error(`"${text}" is not True or False`);
  }
  const parsed = parseLiteral(trimmed);
  if (parsed) {
    return parsed.value;
  }
  throw new Error(`"${text}" is not a Python literal`);
}

/** Comma-separated sweep values ("0.1, 0.2" or "'a', 'b'"), each coerced. */
export function parseSweepValues(text: string, like: ParamValue): ParamValue[] {
  const parsed = parseLiteral(`[${text}]`);
  const items =
    parsed && Array.isArray(parsed.value) && typeof like !== 'string'
      ? parsed.value
      : null;
  const values = items
    ? items
    : splitTopLevel(text).map(part => coerceInput(unquote(part.trim()), like));
  if (values.length === 0) {
    throw new Error('give at least one value');
  }
  return values;
}

/** The value as the form shows it. */
export function formatValue(value: ParamValue): string {
  if (typeof value === 'string') {
    return value;
  }
  if (typeof value === 'boolean') {
    return value ? 'True' : 'False';
  }
  if (value === null) {
    return 'None';
  }
  if (Array.isArray(value)) {
    return `[${value.map(v => (typeof v === 'string' ? `'${v}'` : formatValue(v))).join(', ')}]`;
  }
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function unquote(text: string): string {
  const parsed = parseLiteral(text);
  return parsed && typeof parsed.value === 'string' ? parsed.value : text;
}

/** Split at commas outside quotes and brackets: "a, 'b, c', [1, 2]" → 3 parts. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let quote: string | null = null;
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === '\\') {
        i++;
      } else if (ch === quote) {
        quote = null;
      }
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === '[' || ch === '(' || ch === '{') {
      depth++;
    } else if ((ch === ']' || ch === ')' || ch === '}') && depth > 0) {
      depth--;
    } else if (ch === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map(s => s.trim()).filter(s => s.length > 0);
}

function stripComment(text: string): string {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === '\\') {
        i++;
      } else if (ch === quote) {
        quote = null;
      }
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === '#') {
      return text.slice(0, i);
    }
  }
  return text;
}

class LiteralParser {
  constructor(private readonly text: string) {}
  private pos = 0;

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  skipSpace(): void {
    while (!this.atEnd() && /\s/.test(this.text[this.pos])) {
      this.pos++;
    }
  }

  value(): ParamValue {
    this.skipSpace();
    const ch = this.text[this.pos];
    if (ch === '[' || ch === '(') {
      return this.list(ch === '[' ? ']' : ')');
    }
    if (ch === '"' || ch === "'") {
      return this.string();
    }
    const word = /^(True|False|None)\b/.exec(this.text.slice(this.pos));
    if (word) {
      this.pos += word[1].length;
      return word[1] === 'None' ? null : word[1] === 'True';
    }
    const number =
      /^[-+]?(\d[\d_]*\.?[\d_]*(e[-+]?\d+)?|\.\d+(e[-+]?\d+)?)/i.exec(
        this.text.slice(this.pos)
      );
    if (number) {
      this.pos += number[0].length;
      return Number(number[0].replace(/_/g, ''));
    }
    throw new Error('not a literal');
  }

  private list(close: string): ParamValue[] {
    this.pos++;
    const items: ParamValue[] = [];
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === close) {
        this.pos++;
        return items;
      }
      items.push(this.value());
      this.skipSpace();
      if (this.text[this.pos] === ',') {
        this.pos++;
      } else if (this.text[this.pos] !== close) {
        throw new Error('bad list');
      }
    }
  }

  private string(): string {
    const quote = this.text[this.pos++];
    let out = '';
    while (!this.atEnd()) {
      const ch = this.text[this.pos++];
      if (ch === quote) {
        return out;
      }
      if (ch === '\\') {
        const next = this.text[this.pos++];
        out += next === 'n' ? '\n' : next === 't' ? '\t' : next;
      } else {
        out += ch;
      }
    }
    throw new Error('unterminated string');
  }
}
