// The shape of api/ that the architecture depends on, checked on every
// `make test`:
//  - no module of api/ (a .c file and its .h) includes, directly or through
//    others, a module that includes it back;
//  - no C file of api/ is over 700 lines.
// Usage: node include_graph.mjs <api directory>
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = process.argv[2];
const files = [];
(function walk(directory) {
  for (const name of readdirSync(directory)) {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (/\.[ch]$/.test(name)) files.push(path);
  }
})(root);

const edges = new Map();
const failures = [];
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  const module = relative(root, file).replace(/\.[ch]$/, '');
  if (file.endsWith('.c') && text.split('\n').length > 700)
    failures.push(`${relative(root, file)} has ${text.split('\n').length} lines (at most 700)`);
  for (const [, include] of text.matchAll(/#include "([^"]+)"/g)) {
    if (!existsSync(join(root, include))) continue; // common/ and system headers
    const target = include.replace(/\.[ch]$/, '');
    if (target === module) continue;
    if (!edges.has(module)) edges.set(module, new Set());
    edges.get(module).add(target);
  }
}

const state = new Map();
const stack = [];
function visit(module) {
  state.set(module, 'open');
  stack.push(module);
  for (const next of edges.get(module) ?? []) {
    if (state.get(next) === 'open')
      failures.push(`include cycle: ${[...stack.slice(stack.indexOf(next)), next].join(' -> ')}`);
    else if (!state.has(next)) visit(next);
  }
  stack.pop();
  state.set(module, 'done');
}
for (const module of edges.keys()) if (!state.has(module)) visit(module);

for (const failure of failures) console.error(failure);
console.log(`${files.length} files, ${edges.size} modules with includes: ${failures.length ? 'FAILED' : 'no cycle'}`);
process.exit(failures.length ? 1 : 0);
