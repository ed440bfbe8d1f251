/** A Markdown table, as lines (with a blank line after). */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
    '',
  ];
}

/** "**met**" or "**missed**", for the targets list. */
export function verdict(met: boolean): string {
  return met ? '**met**' : '**missed**';
}
