/**
 * How commands print: plain text for people (tables, colours on a terminal), or `--json` for programs
 * (one JSON document, or one JSON object per line for streams such as `watch`). Results go to stdout;
 * errors and notes to stderr, so `--json` output stays parseable.
 */
export interface OutputStreams {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
}

const ANSI = { red: 31, green: 32, yellow: 33, blue: 34, gray: 90, bold: 1 } as const;
export type Colour = keyof typeof ANSI;

export class Output {
  readonly json: boolean;
  /** stdout is a terminal: redraw progress in place. */
  readonly isTTY: boolean;
  readonly #colour: boolean;
  readonly #streams: OutputStreams;

  constructor(json: boolean, noColor: boolean, streams: OutputStreams = process) {
    this.json = json;
    this.#streams = streams;
    this.isTTY = streams.stdout.isTTY === true;
    this.#colour = this.isTTY && !noColor && !json;
  }

  /** A line of text (ignored under --json, where `data` speaks instead). */
  line(text = ''): void {
    if (!this.json) this.#streams.stdout.write(`${text}\n`);
  }

  /** Raw text, for redrawing a progress line on a terminal. */
  write(text: string): void {
    this.#streams.stdout.write(text);
  }

  /** A JSON document (or one line of a JSON stream) under --json. */
  data(value: unknown): void {
    if (this.json) this.#streams.stdout.write(`${JSON.stringify(value)}\n`);
  }

  /** A note for the person at the terminal (progress of a long step, warnings): stderr. */
  note(text: string): void {
    this.#streams.stderr.write(`${text}\n`);
  }

  paint(colour: Colour, text: string): string {
    return this.#colour && text !== '' ? `\x1b[${ANSI[colour]}m${text}\x1b[0m` : text;
  }

  /** Columns padded to their widest cell; a header row in bold. */
  table(header: readonly string[], rows: readonly (readonly string[])[]): void {
    const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => visible(r[c] ?? '').length)));
    const format = (cells: readonly string[]): string =>
      cells
        .map((cell, c) =>
          c === cells.length - 1 ? cell : cell + ' '.repeat((widths[c] ?? 0) - visible(cell).length),
        )
        .join('  ')
        .trimEnd();
    this.line(this.paint('bold', format(header)));
    for (const row of rows) this.line(format(row));
  }
}

/** Text without ANSI colour codes, to measure it. */
function visible(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escapes is the point
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}
