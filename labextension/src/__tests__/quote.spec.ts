import { pullCellSource } from '../format';
import { quoteForIPython, UnquotableValue } from '../quote';

/**
 * How IPython then the %tlt magic read a line, for the checks below: braces un-doubled, then POSIX
 * shlex words. (The real readers run in tests/test_pull_cell_injection.py, through a kernel.)
 */
function readAsTheMagicDoes(line: string): string[] {
  const expanded = line.replace(/\{\{/g, '{').replace(/\}\}/g, '}');
  const words: string[] = [];
  let word: string | null = null;
  let quote: string | null = null;
  for (let i = 0; i < expanded.length; i++) {
    const c = expanded[i];
    if (quote === "'") {
      if (c === "'") quote = null;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && '"\\'.includes(expanded[i + 1])) word += expanded[++i];
      else word += c;
    } else if (c === ' ') {
      if (word !== null) words.push(word);
      word = null;
    } else {
      word = word ?? '';
      if (c === "'" || c === '"') quote = c;
      else if (c === '\\') word += expanded[++i];
      else word += c;
    }
  }
  if (word !== null) words.push(word);
  return words;
}

const HOSTILE = [
  'm --version 1 --dir d !touch PWNED #',
  '$(id)',
  '$HOME',
  '$$x',
  '`id`',
  "{__import__('os').system('touch PWNED')}",
  '{os.system("x")}',
  "it's",
  "'",
  '"double"',
  'back\\slash\\',
  'semi;colon && rm -rf ~',
  'café ünïcödé 模型 🚀',
  'a{{b}}c',
  '',
  ' spaced '
];

describe('quoteForIPython', () => {
  it.each(HOSTILE)('%j reaches the magic as itself, one word', value => {
    const quoted = quoteForIPython(value);
    expect(readAsTheMagicDoes(`--model_name ${quoted} --dir d`)).toEqual(['--model_name', value, '--dir', 'd']);
  });

  it.each(HOSTILE)('%j leaves IPython nothing to expand', value => {
    const quoted = quoteForIPython(value);
    expect(quoted).not.toMatch(/\$[\w.$]/); // IPython expands $name and $$name
    expect(quoted.replace(/\{\{|\}\}/g, '')).not.toMatch(/[{}]/); // a single brace is an expression
    expect(quoted).not.toMatch(/[\n\r]/);
  });

  it('leaves plain names as they are', () => {
    expect(quoteForIPython('detectnet_v2_resnet18')).toBe('detectnet_v2_resnet18');
    expect(quoteForIPython('2.0-rc1')).toBe('2.0-rc1');
  });

  it('quotes the way a reader of the cell expects', () => {
    expect(quoteForIPython('$(id)')).toBe("'$''(id)'");
    expect(quoteForIPython("it's")).toBe(`'it'"'"'s'`);
    expect(quoteForIPython('{x}')).toBe("'{{x}}'");
    expect(quoteForIPython('')).toBe("''");
  });

  it.each(['m\n!touch PWNED #', 'a\rb', 'a\u2028b', 'a\u0085b', 'a\u0000b', 'tab\there', '\ud800'])(
    'refuses %j: a line break or control character cannot stay on one line',
    value => {
      expect(() => quoteForIPython(value)).toThrow(UnquotableValue);
    }
  );
});

describe('pullCellSource with hostile names', () => {
  it('keeps the name and version inside their flags', () => {
    const line = pullCellSource('m --version 1 --dir d #', '1; !touch PWNED');
    expect(line.startsWith('%tlt pull ')).toBe(true);
    expect(readAsTheMagicDoes(line.slice('%tlt '.length))).toEqual([
      'pull', '--model_name', 'm --version 1 --dir d #', '--version', '1; !touch PWNED', '--dir', 'pretrained'
    ]);
  });

  it('refuses a name with a line break instead of writing two lines', () => {
    expect(() => pullCellSource('m --version 1 --dir d\n!touch PWNED #', '1')).toThrow(UnquotableValue);
  });
});
