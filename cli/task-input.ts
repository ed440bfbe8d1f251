import { InvalidInputError } from '../shared/errors.ts';

/** One JSON value of the input, and the line it starts on (for error messages). */
export interface InputValue {
  readonly value: unknown;
  readonly line: number;
}

/**
 * Reads the top-level objects of a task file as a stream, one at a time, from text chunks. Accepts
 * NDJSON (one object a line; in fact any sequence of objects separated by whitespace) and a JSON array
 * of objects, in any layout. Only the object being read is held in memory, so a file of a million tasks
 * is fine; a consumer that awaits between values slows the reading down (backpressure).
 *
 * A small scanner rather than JSON.parse on the whole text: it tracks strings and nesting depth to
 * find where each top-level object ends, then JSON.parse does the real parsing of that object.
 */
export async function* readJsonObjects(
  chunks: AsyncIterable<string>,
  label: string,
  maxObjectChars: number,
): AsyncGenerator<InputValue> {
  let mode: 'start' | 'sequence' | 'array' | 'array-done' = 'start';
  /** In an array: whether the next thing must be a value (after `[` or `,`) or a separator. */
  let expectValue = true;
  let line = 1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let pending = '';
  let valueLine = 0;
  let arrayLine = 0;
  let arrayEmpty = true;

  const fail: (at: number, what: string) => never = (at, what) => {
    throw new InvalidInputError(`${label} line ${at}: ${what}`);
  };

  for await (const chunk of chunks) {
    let valueStart = depth > 0 ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk.charCodeAt(i);
      if (depth > 0) {
        if (ch === 10) line++;
        if (inString) {
          if (escaped) escaped = false;
          else if (ch === 92 /* \ */) escaped = true;
          else if (ch === 34 /* " */) inString = false;
          continue;
        }
        if (ch === 34) inString = true;
        else if (ch === 123 /* { */ || ch === 91 /* [ */) depth++;
        else if (ch === 125 /* } */ || ch === 93 /* ] */) {
          depth--;
          if (depth === 0) {
            const text = pending + chunk.slice(valueStart, i + 1);
            pending = '';
            valueStart = -1;
            if (text.length > maxObjectChars)
              fail(
                valueLine,
                `a task is ${text.length} characters long, over the limit of ${maxObjectChars}`,
              );
            yield { value: parse(text, valueLine, fail), line: valueLine };
          }
        }
        continue;
      }
      // Between top-level values.
      if (ch === 10) {
        line++;
        continue;
      }
      if (ch === 32 || ch === 9 || ch === 13 || ch === 0xfeff) continue;
      if (mode === 'start' && ch === 91 /* [ */) {
        mode = 'array';
        arrayLine = line;
        continue;
      }
      if (mode === 'start') mode = 'sequence';
      if (mode === 'array-done') fail(line, 'unexpected text after the end of the JSON array');
      if (mode === 'array') {
        if (!expectValue) {
          if (ch === 44 /* , */) {
            expectValue = true;
            continue;
          }
          if (ch === 93 /* ] */) {
            mode = 'array-done';
            continue;
          }
          fail(line, "expected ',' or ']' after a task of the JSON array");
        }
        if (ch === 93 && arrayEmpty) {
          mode = 'array-done';
          continue;
        }
      }
      if (ch !== 123 /* { */) fail(line, `expected a task object ({"name": ...}), got '${chunk[i]}'`);
      arrayEmpty = false;
      depth = 1;
      valueStart = i;
      valueLine = line;
      expectValue = false;
    }
    if (valueStart >= 0) {
      pending += chunk.slice(valueStart);
      if (pending.length > maxObjectChars)
        fail(valueLine, `a task is over ${maxObjectChars} characters long (is a closing brace missing?)`);
    }
  }
  if (depth > 0) fail(valueLine, 'the input ends in the middle of a task (a closing brace is missing)');
  if (mode === 'array') fail(arrayLine, "the JSON array is not closed (no ']')");
}

function parse(text: string, line: number, fail: (at: number, what: string) => never): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    return fail(line, `not valid JSON: ${(error as Error).message}`);
  }
}
