import {
  coerceInput,
  formatValue,
  parseAssignments,
  parseLiteral,
  parseSweepValues,
  readParameters
} from '../src/params';

function notebook(source: string | string[], tags: unknown = ['parameters']) {
  return {
    cells: [
      { cell_type: 'markdown', source: 'x = 1', metadata: { tags } },
      { cell_type: 'code', source, metadata: { tags } }
    ]
  };
}

describe('readParameters', () => {
  it('reads the code cell tagged parameters', () => {
    const parsed = readParameters(
      notebook(['alpha = 0.1  # learning rate\n', "name: str = 'run'\n"])
    );
    expect(parsed.found).toBe(true);
    expect(parsed.parameters).toEqual([
      { name: 'alpha', value: 0.1, source: '0.1' },
      { name: 'name', value: 'run', source: "'run'" }
    ]);
    expect(parsed.skipped).toEqual([]);
  });

  it('reports a notebook without the tag, and hostile input, as not found', () => {
    expect(readParameters(notebook('a = 1', ['other'])).found).toBe(false);
    expect(readParameters(notebook('a = 1', 'parameters')).found).toBe(false);
    expect(readParameters(null).found).toBe(false);
    expect(readParameters({ cells: [] }).found).toBe(false);
  });
});

describe('parseAssignments', () => {
  it('skips expressions instead of evaluating them; the last assignment wins', () => {
    const { parameters, skipped } = parseAssignments(
      [
        'epochs = 10',
        'path = os.environ["HOME"]',
        'if True:',
        '    hidden = 1',
        'epochs = 20',
        'flag = False',
        'nothing = None',
        "layers = [1, 2, (3, 'a')]",
        'x == 3'
      ].join('\n')
    );
    expect(parameters.map(p => [p.name, p.value])).toEqual([
      ['epochs', 20],
      ['flag', false],
      ['nothing', null],
      ['layers', [1, 2, [3, 'a']]]
    ]);
    expect(skipped).toEqual(['path']);
  });
});

describe('parseLiteral', () => {
  it('understands Python literals only', () => {
    expect(parseLiteral('1_000')).toEqual({ value: 1000 });
    expect(parseLiteral('-1.5e-3')).toEqual({ value: -0.0015 });
    expect(parseLiteral('"a # b"')).toEqual({ value: 'a # b' });
    expect(parseLiteral("'tab\\there'")).toEqual({ value: 'tab\there' });
    expect(parseLiteral('True')).toEqual({ value: true });
    expect(parseLiteral('[]')).toEqual({ value: [] });
    expect(parseLiteral('Truely')).toBeUndefined();
    expect(parseLiteral('1 + 2')).toBeUndefined();
    expect(parseLiteral("'unterminated")).toBeUndefined();
    expect(parseLiteral('[1, 2')).toBeUndefined();
    expect(parseLiteral('__import__("os")')).toBeUndefined();
  });
});

describe('coerceInput and sweeps', () => {
  it("coerces to the default's type and says what is wrong", () => {
    expect(coerceInput(' 42 ', 1)).toBe(42);
    expect(coerceInput(' keep spaces ', 'x')).toBe(' keep spaces ');
    expect(coerceInput('yes', false)).toBe(true);
    expect(coerceInput('0', true)).toBe(false);
    expect(coerceInput('[1, 2]', [0])).toEqual([1, 2]);
    expect(() => coerceInput('ten', 1)).toThrow('"ten" is not a number');
    expect(() => coerceInput('', 1)).toThrow('is not a number');
    expect(() => coerceInput('maybe', true)).toThrow('is not True or False');
    expect(() => coerceInput('f(x)', null)).toThrow('is not a Python literal');
  });

  it('splits sweep values at top-level commas', () => {
    expect(parseSweepValues('0.1, 0.2, 0.3', 0.5)).toEqual([0.1, 0.2, 0.3]);
    expect(parseSweepValues("'a', 'b, c'", 'x')).toEqual(['a', 'b, c']);
    expect(parseSweepValues('adam, sgd', 'x')).toEqual(['adam', 'sgd']);
    expect(parseSweepValues('[1, 2], [3]', [0])).toEqual([[1, 2], [3]]);
    expect(() => parseSweepValues(' , ', 'x')).toThrow(
      'give at least one value'
    );
    expect(() => parseSweepValues('1, two', 1)).toThrow('is not a number');
  });

  it('formats values as Python writes them', () => {
    expect(formatValue(true)).toBe('True');
    expect(formatValue(null)).toBe('None');
    expect(formatValue(['a', 1, false])).toBe("['a', 1, False]");
    expect(formatValue('plain')).toBe('plain');
    expect(formatValue(2.5)).toBe('2.5');
  });
});
