import { describe, expect, test } from 'vitest';
import { readJsonObjects } from '../../cli/task-input.ts';

async function* chunksOf(text: string, size: number): AsyncGenerator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

async function read(text: string, size = 7, max = 1000): Promise<{ value: unknown; line: number }[]> {
  const values = [];
  for await (const value of readJsonObjects(chunksOf(text, size), 'tasks', max)) values.push(value);
  return values;
}

describe('readJsonObjects: the task file reader', () => {
  test('NDJSON: one object a line, split across chunks anywhere, with line numbers', async () => {
    const text = '{"name":"a","data":{"s":"}{\\"]["}}\n\n{"name":"b"}\r\n  {"name":"c","data":[1,{"x":2}]}\n';
    for (const size of [1, 2, 5, 64]) {
      expect(await read(text, size)).toEqual([
        { value: { name: 'a', data: { s: '}{"][' } }, line: 1 },
        { value: { name: 'b' }, line: 3 },
        { value: { name: 'c', data: [1, { x: 2 }] }, line: 4 },
      ]);
    }
  });

  test('a JSON array of objects in any layout, and an empty array', async () => {
    const text = '[\n  {"name": "a"},\n  {\n    "name": "b"\n  }\n]\n';
    expect(await read(text, 3)).toEqual([
      { value: { name: 'a' }, line: 2 },
      { value: { name: 'b' }, line: 3 },
    ]);
    expect(await read(' [ ] ')).toEqual([]);
    expect(await read('')).toEqual([]);
  });

  test('says where the input is wrong', async () => {
    await expect(read('{"name": "a"}\n"b"\n')).rejects.toThrow(
      `tasks line 2: expected a task object ({"name": ...}), got '"'`,
    );
    await expect(read('{"name": "a"}\n{"name": }\n')).rejects.toThrow(/^tasks line 2: not valid JSON/);
    await expect(read('{"name": "a"}\n{"name": "b"')).rejects.toThrow(
      'tasks line 2: the input ends in the middle of a task',
    );
    await expect(read('[{"name": "a"}, ]')).rejects.toThrow(
      'tasks line 1: expected a task object ({"name": ...}), got \']\'',
    );
    await expect(read('[{"name": "a"} {"name": "b"}]')).rejects.toThrow("tasks line 1: expected ',' or ']'");
    await expect(read('[{"name": "a"}')).rejects.toThrow(
      "tasks line 1: the JSON array is not closed (no ']')",
    );
    await expect(read('[{"name": "a"}] {"name": "b"}')).rejects.toThrow(
      'unexpected text after the end of the JSON array',
    );
    await expect(read('[[1]]')).rejects.toThrow("got '['");
  });

  test('refuses an object over the size limit without buffering the rest', async () => {
    const huge = `{"name": "a", "data": "${'x'.repeat(5000)}"`; // never closed
    await expect(read(huge, 100, 1000)).rejects.toThrow(/tasks line 1: a task is over 1000 characters long/);
  });

  test('reads lazily: the first object comes before the input ends', async () => {
    let produced = 0;
    async function* endless(): AsyncGenerator<string> {
      for (;;) {
        produced++;
        yield '{"name": "n"}\n';
      }
    }
    const reader = readJsonObjects(endless(), 'stdin', 1000);
    expect((await reader.next()).value).toEqual({ value: { name: 'n' }, line: 1 });
    expect(produced).toBe(1);
    await reader.return(undefined);
  });
});
