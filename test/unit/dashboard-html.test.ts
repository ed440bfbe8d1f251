import { describe, expect, test } from 'vitest';
import { html } from '../../dashboard/html.ts';

describe('html templates', () => {
  test('escape what users named (groups, errors, semaphores), but not nested templates', () => {
    const name = '<img src=x onerror="alert(1)">';
    const inner = html`<b>${name}</b>`;
    expect(
      html`<td title="${name}">${inner}${[html`<i>${'&'}</i>`, "'"]}${undefined}${false}</td>`.value,
    ).toBe(
      '<td title="&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"><b>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</b><i>&amp;</i>&#39;</td>',
    );
  });
});
