// Quoting of values placed into generated notebook cells: the one place that does it in the lab extension.
//
// A `%tlt` line passes through two readers before the step sees it: IPython first expands `$name`
// and `{expression}` in it (running the expression), then the magic splits it into words with
// Python's `shlex.split`. A value from a shared registry may be written by anyone, so it is quoted
// against both: braces are doubled (IPython's `{{` reads as `{`), every `$` is followed by a quote
// so that IPython never sees `$name`, and the rest is single-quoted for shlex (`'` written as "'").
// A line break or control character cannot be quoted on one line: IPython would start a new line of
// code there, so such a value is refused.

/** Characters that need no quoting: those Python's `shlex.quote` leaves alone, minus none IPython reads. */
const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Control characters, line and paragraph separators (Python's `splitlines` breaks at them), lone surrogates. */
const UNQUOTABLE = /[\p{Cc}\p{Zl}\p{Zp}\p{Cs}]/u;

/** A value that cannot be written into one line of a cell. */
export class UnquotableValue extends Error {}

/**
 * `value` as one word of an IPython `%` (or `!`) line: it reaches the command as exactly `value`,
 * and nothing in it is expanded or run. Throws UnquotableValue for line breaks and control characters.
 */
export function quoteForIPython(value: string): string {
  if (UNQUOTABLE.test(value)) {
    const shown = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
    throw new UnquotableValue(
      `${shown} holds a line break or control character, so it cannot be written into a cell`
    );
  }
  if (PLAIN.test(value)) {
    return value;
  }
  let word = '';
  let run = ''; // characters waiting to be single-quoted
  const closeRun = (): void => {
    if (run) {
      word += `'${run}'`;
      run = '';
    }
  };
  for (const char of value) {
    if (char === "'") {
      closeRun();
      word += `"'"`;
    } else if (char === '$') {
      run += '$';
      closeRun(); // the closing quote follows the `$`: IPython expands `$` only before a name
    } else if (char === '{' || char === '}') {
      run += char + char;
    } else {
      run += char;
    }
  }
  closeRun();
  return word || "''";
}
