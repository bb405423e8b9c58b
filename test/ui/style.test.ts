// renderer/style.css stays well-formed: every block is closed, and each rule written at the left margin is a
// top-level rule. (Two merges once dropped a closing brace: the Usage view's rules ended up inside the Routes
// view's narrow-window @media, the set-up dialog's inside .usage-foot, and neither applied in a normal window.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..', '..');

/** The stylesheet's lines with comments and quoted strings blanked out (line numbers kept). */
function codeLines(css: string): string[] {
  const out = css.replace(/\/\*[\s\S]*?\*\/|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/g, (m) => m.replace(/[^\n]/g, ' '));
  return out.split('\n');
}

test('style.css: blocks are closed and rules at the left margin are top-level', () => {
  const lines = codeLines(readFileSync(join(root, 'renderer', 'style.css'), 'utf8'));
  const problems: string[] = [];
  let depth = 0;
  lines.forEach((line, i) => {
    if (/^[^\s}]/.test(line) && depth !== 0) problems.push(`line ${i + 1} starts a rule inside an unclosed block (depth ${depth}): ${line.trim()}`);
    for (const ch of line) {
      if (ch === '{') depth++;
      else if (ch === '}') depth--;
      if (depth < 0) {
        problems.push(`line ${i + 1} closes a block that was not open`);
        depth = 0;
      }
    }
  });
  if (depth !== 0) problems.push(`${depth} block(s) never closed`);
  assert.deepEqual(problems.slice(0, 5), []);
});
