import { readFileSync, writeFileSync } from 'node:fs';

const FILE = new URL('../RESULTS.md', import.meta.url);

/**
 * Replaces one benchmark's section of bench/RESULTS.md (between `<!-- name:start -->` and
 * `<!-- name:end -->`), keeping the others, so each benchmark can be re-run on its own.
 */
export function writeSection(name: string, body: string): void {
  let text: string;
  try {
    text = readFileSync(FILE, 'utf8');
  } catch {
    text =
      '# Benchmark results\n\nWritten by `npm run bench` (each section by its own benchmark). Ratios are measured side by side, in the same run, on the same Redis.\n';
  }
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const section = `${start}\n${body.trim()}\n${end}`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  text =
    from >= 0 && to > from
      ? text.slice(0, from) + section + text.slice(to + end.length)
      : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(FILE, text);
}
