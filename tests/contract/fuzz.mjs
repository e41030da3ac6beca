#!/usr/bin/env node
// API fuzz test for Baove, in the manner of Schemathesis: requests generated
// from openapi.yaml for every operation and every role (and no credential),
// some valid by the spec and some mutated (wrong types, missing or unknown
// members, invalid UTF-8, control characters, huge values, bodies that are
// not JSON, wrong media types), sent to a running baove-api.
//
// Usage: node fuzz.mjs <openapi.yaml> <base-url> <records.jsonl>
// Environment:
//   BAOVE_FUZZ_SEED      the seed (a number); `random` picks one. Default 12.
//   BAOVE_FUZZ_ROUNDS    rounds over every (operation, role); default 8.
//   BAOVE_FUZZ_SECONDS   stop early after this long (a bound, not a
//                        measure: the run prints how many requests it sent,
//                        and BAOVE_FUZZ_REQUESTS=N replays exactly those).
//   BAOVE_FUZZ_REQUESTS  stop after this many requests.
//   BAOVE_FUZZ_PASSWORD  password of the demo users (`seed --demo`).
//
// Fails (exit 1) on any 5xx, any error response that is not
// application/problem+json, any connection the server drops, and any
// response check.mjs finds against the spec (every response is recorded to
// <records.jsonl> and checked with it at the end).  Whether the server
// process is still alive is the caller's check (tests/integration/
// test_api_fuzz.c stops it and wants a clean exit).
//
// The sequence of requests is a function of the seed alone except where it
// reuses ids the server gave out (Location, `id` members), which the same
// seed against a fresh database gives again.

import { readFile, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch'];
const ROLES = ['admin', 'district', 'commune', 'chair', 'collaborator', 'viewer', 'sync'];
const MAX_FAILURES_SHOWN = 25;

// ---- deterministic randomness ----------------------------------------------

function makeRandom(seed) {
  let state = seed >>> 0;
  const next = () => {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const random = {
    next,
    int: (low, high) => low + Math.floor(next() * (high - low + 1)),
    chance: (p) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)],
    hex: (length) => Array.from({ length }, () => '0123456789abcdef'[Math.floor(next() * 16)]).join(''),
  };
  random.uuid = () =>
    `${random.hex(8)}-${random.hex(4)}-4${random.hex(3)}-${random.pick(['8', '9', 'a', 'b'])}${random.hex(3)}-${random.hex(12)}`;
  return random;
}

// ---- the spec ----------------------------------------------------------------

function resolve(doc, node) {
  for (let hops = 0; node && typeof node === 'object' && typeof node.$ref === 'string'; hops++) {
    if (hops > 32) throw new Error(`$ref cycle at ${node.$ref}`);
    node = node.$ref
      .slice(2)
      .split('/')
      .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'))
      .reduce((at, token) => at?.[token], doc);
  }
  return node;
}

function operationsOf(doc) {
  const operations = [];
  for (const [template, rawItem] of Object.entries(doc.paths)) {
    const item = resolve(doc, rawItem);
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const parameters = [...(item.parameters ?? []), ...(operation.parameters ?? [])].map((p) =>
        resolve(doc, p));
      const body = resolve(doc, operation.requestBody);
      operations.push({
        id: operation.operationId ?? `${method} ${template}`,
        method: method.toUpperCase(),
        template,
        parameters,
        body: body?.content ? Object.entries(body.content) : [],
        bodyRequired: body?.required === true,
        anonymous: Array.isArray(operation.security) && operation.security.length === 0,
      });
    }
  }
  return operations;
}

// ---- values from schemas -----------------------------------------------------

// Strings for the few regular expressions of the spec: literals, classes
// with ranges, groups with alternatives, ?, *, +, {n,m}, ^ and $.
function fromPattern(pattern, random) {
  let at = 0;
  const alternatives = () => {
    const branches = [[]];
    while (at < pattern.length && pattern[at] !== ')') {
      if (pattern[at] === '|') {
        branches.push([]);
        at++;
      } else {
        branches.at(-1).push(quantified());
      }
    }
    return () => random.pick(branches).map((part) => part()).join('');
  };
  const atom = () => {
    const c = pattern[at++];
    if (c === '^' || c === '$') return () => '';
    if (c === '(') {
      const inner = alternatives();
      at++; // ')'
      return inner;
    }
    if (c === '[') {
      const chars = [];
      if (pattern[at] === ']') chars.push(pattern[at++]);
      while (pattern[at] !== ']') {
        let low = pattern[at++];
        if (low === '\\') low = pattern[at++];
        if (pattern[at] === '-' && pattern[at + 1] !== ']') {
          const high = pattern[at + 1];
          at += 2;
          for (let code = low.charCodeAt(0); code <= high.charCodeAt(0); code++)
            chars.push(String.fromCharCode(code));
        } else {
          chars.push(low);
        }
      }
      at++;
      return () => random.pick(chars);
    }
    if (c === '\\') {
      const escaped = pattern[at++];
      return () => escaped;
    }
    if (c === '.') return () => random.pick(['a', 'Z', '0', '_']);
    return () => c;
  };
  const quantified = () => {
    const part = atom();
    let low = 1, high = 1;
    if (pattern[at] === '?') [low, high] = [0, 1];
    else if (pattern[at] === '*') [low, high] = [0, 3];
    else if (pattern[at] === '+') [low, high] = [1, 3];
    else if (pattern[at] === '{') {
      const end = pattern.indexOf('}', at);
      const [from, to] = pattern.slice(at + 1, end).split(',');
      low = Number(from);
      high = to === undefined ? low : to === '' ? low + 3 : Number(to);
      at = end;
    } else return part;
    at++;
    return () => Array.from({ length: random.int(low, Math.min(high, low + 8)) }, part).join('');
  };
  return alternatives()();
}

const TEXTS = ['Nguyễn Văn An', 'Ấp 2', 'x', 'Trần Thị Bích', 'note', 'Lê Văn Tâm', '29980'];

function stringOf(schema, random, context) {
  const examples = schema.examples ?? (schema.example !== undefined ? [schema.example] : []);
  if (examples.length && random.chance(0.5)) return random.pick(examples);
  if (schema.format === 'uuid') return context.pickId(random);
  if (schema.format === 'date') return `20${random.int(10, 26)}-0${random.int(1, 9)}-1${random.int(0, 9)}`;
  if (schema.format === 'date-time') return `2024-0${random.int(1, 9)}-1${random.int(0, 9)}T0${random.int(0, 9)}:00:00+07:00`;
  if (schema.pattern) return fromPattern(schema.pattern, random);
  let text = random.pick(TEXTS);
  if (schema.minLength && text.length < schema.minLength) text = text.padEnd(schema.minLength, 'a');
  if (schema.maxLength && [...text].length > schema.maxLength) text = [...text].slice(0, schema.maxLength).join('');
  return text;
}

// One schema for an allOf: the parts' properties and required members
// together, their other keywords laid over each other.
function mergeAll(schema, doc) {
  const { allOf, ...merged } = schema;
  for (let part of allOf) {
    part = resolve(doc, part) ?? {};
    if (part.allOf) part = mergeAll(part, doc);
    const { properties, required, ...rest } = part;
    Object.assign(merged, rest);
    merged.properties = { ...(merged.properties ?? {}), ...(properties ?? {}) };
    merged.required = [...new Set([...(merged.required ?? []), ...(required ?? [])])];
  }
  return merged;
}

function valueOf(schema, random, context, depth = 0) {
  schema = resolve(context.doc, schema) ?? {};
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum)) return random.pick(schema.enum);
  if (schema.allOf) return valueOf(mergeAll(schema, context.doc), random, context, depth + 1);
  const choices = schema.oneOf ?? schema.anyOf;
  if (choices && !schema.properties) return valueOf(random.pick(choices), random, context, depth + 1);
  let type = schema.type ?? (schema.properties ? 'object' : schema.items ? 'array' : 'string');
  if (Array.isArray(type)) type = random.pick(type.filter((t) => t !== 'null')) ?? 'null';
  switch (type) {
    case 'null': return null;
    case 'boolean': return random.chance(0.5);
    case 'integer':
    case 'number': {
      const low = schema.minimum ?? (schema.exclusiveMinimum ?? -1) + 1;
      const high = schema.maximum ?? Math.max(low, 0) + 1000;
      return random.int(low, Math.min(high, low + 100000));
    }
    case 'array': {
      if (depth > 4) return [];
      const count = random.int(schema.minItems ?? 0, Math.min(schema.maxItems ?? 3, (schema.minItems ?? 0) + 3));
      return Array.from({ length: count }, () => valueOf(schema.items ?? {}, random, context, depth + 1));
    }
    case 'object': {
      const object = {};
      const required = new Set(schema.required ?? []);
      for (const [name, property] of Object.entries(schema.properties ?? {})) {
        if (resolve(context.doc, property)?.readOnly) continue;
        if (required.has(name) || (depth < 4 && random.chance(0.5)))
          object[name] = valueOf(property, random, context, depth + 1);
      }
      return object;
    }
    default:
      return stringOf(schema, random, context);
  }
}

// ---- mutations ---------------------------------------------------------------

// Texts a careless or hostile client sends where a parameter goes: raw bytes
// (percent-encoded here), controls, huge values, wrong types.
const BAD_TEXTS = ['%FF%FE', '%C3%28', '%00', '%0D%0Aset-cookie:%20x', '%E2%82', 'a%09b', '%7F',
  '..%2F..%2Fetc', '-1', '0', '99999999999999999999999', '1e309', 'NaN', 'true', '%20', '', "'%3B--",
  'x'.repeat(5000), '%F0%9F%98%80'.repeat(50), '2020-02-30', '00000000-0000-0000-0000-000000000000'];

function mutateValue(value, random, context) {
  switch (random.int(0, 9)) {
    case 0: return null;
    case 1: return typeof value === 'number' ? String(value) : 12345;
    case 2: return 'x'.repeat(random.pick([201, 5000, 70000]));
    case 3: return random.pick(['\u0000', 'a\r\nb', '\u202e', '\ud800', '=cmd|x!A1', ' ']);
    case 4: return [value];
    case 5: return { value };
    case 6: return random.pick([-1, 0, 2 ** 63, -(2 ** 63) - 1, 1.5, 1e308]);
    case 7: return random.chance(0.5);
    case 8: return random.pick(['2020-13-01', '0000-00-00', '9999-12-31', '2024-02-29T25:00:00Z']);
    default: return valueOf({}, random, context);
  }
}

function mutateBody(body, random, context) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return mutateValue(body, random, context);
  const copy = structuredClone(body);
  const keys = Object.keys(copy);
  const choice = random.int(0, 3);
  if (choice === 0 && keys.length) delete copy[random.pick(keys)];
  else if (choice === 1) copy[random.pick(['unknown', 'id', 'version', 'deleted_at', '__proto__'])] = 'x';
  else if (keys.length) {
    const key = random.pick(keys);
    copy[key] = choice === 2 ? mutateValue(copy[key], random, context) : mutateBody(copy[key], random, context);
  } else return random.pick([[], 'x', 0]);
  return copy;
}

// Raw bodies that are not the JSON they claim to be.
const RAW_BODIES = [
  Buffer.from('{"full_name":"\xff\xfe"}', 'latin1'),
  Buffer.from('{"username":"a", "password":'),
  Buffer.from(''),
  Buffer.from('null'),
  Buffer.from('[' .repeat(5000) + ']'.repeat(5000)),
  Buffer.from('{"a":1,"a":2}'),
  Buffer.from('\ufeff{}'),
  Buffer.from('{"x":"\\ud800"}'),
  Buffer.from('{"n":1' + '0'.repeat(400) + '}'),
];

// ---- one request ---------------------------------------------------------------

function encode(value) {
  return encodeURIComponent(typeof value === 'string' ? value : JSON.stringify(value));
}

function buildRequest(operation, role, random, context) {
  const mutated = random.chance(0.4);
  const headers = {};
  let target = operation.template;
  const query = [];
  for (const parameter of operation.parameters) {
    const schema = resolve(context.doc, parameter.schema) ?? {};
    const mutateThis = mutated && random.chance(0.4);
    let value;
    if (parameter.in === 'path' && context.pools[parameter.name]?.length && random.chance(0.7))
      value = random.pick(context.pools[parameter.name]);
    else if (parameter.example !== undefined && random.chance(0.3)) value = parameter.example;
    else value = valueOf(schema, random, context);
    if (parameter.in === 'path') {
      const text = mutateThis ? random.pick(BAD_TEXTS) : encode(value);
      target = target.replace(`{${parameter.name}}`, text === '' ? '%20' : text);
    } else if (parameter.in === 'query') {
      if (!parameter.required && !mutateThis && random.chance(0.5)) continue;
      query.push(`${encodeURIComponent(parameter.name)}=${mutateThis ? random.pick(BAD_TEXTS) : encode(value)}`);
    } else if (parameter.in === 'header') {
      if (!mutateThis && random.chance(0.3)) continue;
      headers[parameter.name] = mutateThis
        ? random.pick(['', '\xff\xfe', 'x'.repeat(300), '"0"', 'W/"-1"', '"99999999999999999999"', 'a\tb'])
        : Buffer.from(String(value), 'utf8').toString('latin1'); // the UTF-8 bytes, as sent
    }
  }
  if (mutated && random.chance(0.15)) query.push(`${random.pick(BAD_TEXTS)}=${random.pick(BAD_TEXTS)}`);
  // Oversized headers or queries, one at a time: each over the API's own
  // limits (header 8192, parameter 1024 bytes), together under the memory
  // libmicrohttpd gives a connection (BAOVE_HTTP_CONNECTION_MEMORY, 128 KiB).
  // Past that the library answers 414/431 itself, with its own fixed HTML
  // body that no application can replace (README, "Known gaps").
  if (mutated && random.chance(0.08)) {
    if (random.chance(0.5)) headers['X-Padding'] = 'x'.repeat(random.pick([9000, 70000]));
    else query.push(`pad=${'x'.repeat(random.pick([3000, 70000]))}`);
  }
  if (role !== null) headers.Authorization = `Bearer ${context.tokens[role]}`;
  else if (mutated && random.chance(0.3))
    headers.Authorization = random.pick(['Bearer ', 'Bearer bvt_' + 'x'.repeat(43), 'Basic YTpi', 'Bearer \xff']);
  let body = null;
  if (operation.body.length && (operation.bodyRequired || random.chance(0.7))) {
    const [mediaType, content] = random.pick(operation.body);
    headers['Content-Type'] = mediaType;
    if (mutated && random.chance(0.2)) {
      body = random.pick(RAW_BODIES);
      if (random.chance(0.3)) headers['Content-Type'] = random.pick(['text/plain', 'application/json; charset=latin1', 'application/x-www-form-urlencoded', '']);
    } else {
      const example = content.example ?? resolve(context.doc, random.pick(Object.values(content.examples ?? {}).concat([undefined])))?.value;
      let value = example !== undefined && random.chance(0.6) ? structuredClone(example)
        : valueOf(content.schema, random, context);
      if (mutated) value = mutateBody(value, random, context);
      body = Buffer.from(JSON.stringify(value) ?? 'null');
    }
  }
  const queryText = query.join('&');
  return { method: operation.method, path: target, query: queryText, headers, body, mutated };
}

function send(base, request, agent) {
  const url = new URL(base);
  return new Promise((resolvePromise) => {
    let outgoing;
    try {
      outgoing = http.request({
      host: url.hostname, port: url.port, agent, method: request.method,
      path: request.path + (request.query ? `?${request.query}` : ''),
      headers: { ...request.headers, ...(request.body ? { 'Content-Length': request.body.length } : {}) },
      timeout: 30000,
    }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => resolvePromise({ response, body: Buffer.concat(chunks) }));
      response.on('error', (error) => resolvePromise({ error }));
      });
    } catch (error) {
      // Node itself refuses to send it (a header it will not write): a bug
      // of this generator, not of the server.
      throw new Error(`cannot send ${describe(request)}: ${error.message}`);
    }
    outgoing.on('timeout', () => outgoing.destroy(new Error('no answer within 30 s')));
    outgoing.on('error', (error) => resolvePromise({ error }));
    outgoing.end(request.body ?? undefined);
  });
}

const RECORDED_HEADERS = ['x-request-id', 'cache-control', 'allow', 'retry-after', 'www-authenticate',
  'etag', 'location', 'idempotency-replayed'];

function recordOf(request, response, body) {
  const contentType = response.headers['content-type'] ?? '';
  const record = {
    method: request.method, path: request.path, query: request.query, status: response.statusCode,
    content_type: contentType, headers: {}, body: null,
  };
  for (const name of RECORDED_HEADERS)
    if (response.headers[name] !== undefined) record.headers[name] = response.headers[name];
  if (/json/.test(contentType)) {
    try { record.body = JSON.parse(body.toString('utf8')); } catch { record.body_text = body.toString('utf8'); }
  } else if (body.length) record.body_text = body.toString('utf8');
  return record;
}

// Ids and codes from answers, for the path parameters of later requests.
function harvest(context, record) {
  const location = record.headers.location;
  if (typeof location === 'string') {
    const last = location.split('/').at(-1);
    for (const pool of ['id', 'record_id', 'service_id']) context.pools[pool].push(last);
  }
  const walk = (node, depth) => {
    if (depth > 3 || node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'id' && typeof value === 'string' && context.pools.id.length < 400) {
        context.pools.id.push(value);
        context.pools.record_id.push(value);
        context.pools.service_id.push(value);
      } else if (key === 'code' && typeof value === 'string' && context.pools.code.length < 100) {
        context.pools.code.push(value);
      } else walk(value, depth + 1);
    }
  };
  walk(record.body, 0);
}

function describe(request) {
  const body = request.body ? ` body=${JSON.stringify(request.body.toString('latin1').slice(0, 300))}` : '';
  const headers = Object.entries(request.headers).filter(([name]) => name !== 'Authorization')
    .map(([name, value]) => ` ${name}: ${JSON.stringify(value).slice(0, 80)}`).join('');
  return `${request.method} ${request.path}${request.query ? `?${request.query.slice(0, 300)}` : ''}${headers}${body}`;
}

// ---- the run -------------------------------------------------------------------

async function signIn(base, agent, username, password) {
  const request = {
    method: 'POST', path: '/v1/auth/token', query: '', headers: { 'Content-Type': 'application/json' },
    body: Buffer.from(JSON.stringify({ username, password })),
  };
  const { response, body, error } = await send(base, request, agent);
  if (error || response.statusCode !== 200) throw new Error(`cannot sign in as ${username}: ${error ?? response.statusCode}`);
  return JSON.parse(body.toString('utf8')).access_token;
}

function settings() {
  const seedText = process.env.BAOVE_FUZZ_SEED ?? '12';
  const seed = seedText === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(seedText);
  if (!Number.isInteger(seed)) throw new Error(`BAOVE_FUZZ_SEED: not a number: ${seedText}`);
  return {
    seed,
    rounds: Number(process.env.BAOVE_FUZZ_ROUNDS ?? 8),
    seconds: Number(process.env.BAOVE_FUZZ_SECONDS ?? 60),
    requests: Number(process.env.BAOVE_FUZZ_REQUESTS ?? Infinity),
    password: process.env.BAOVE_FUZZ_PASSWORD ?? 'baove-demo',
  };
}

async function main([specFile, base, recordsFile]) {
  if (!recordsFile) {
    console.error('usage: node fuzz.mjs <openapi.yaml> <base-url> <records.jsonl>');
    return 2;
  }
  const options = settings();
  console.log(`fuzz: seed ${options.seed} (replay: BAOVE_FUZZ_SEED=${options.seed})`);
  const doc = YAML.parse(await readFile(specFile, 'utf8'));
  const operations = operationsOf(doc);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const tokens = {};
  for (const role of ROLES) tokens[role] = await signIn(base, agent, `demo_${role}`, options.password);
  const context = {
    doc, tokens,
    pools: { id: [], record_id: [], service_id: [], code: ['29980', '870', '87'], name: ['sms', 'email', 'webhook'] },
  };
  const random = makeRandom(options.seed);
  context.pickId = (r) => (context.pools.id.length && r.chance(0.5) ? r.pick(context.pools.id) : r.uuid());
  const records = [];
  const failures = [];
  const fail = (request, why) => failures.push(`${why}: ${describe(request)}`);
  const started = Date.now();
  let sent = 0;
  // A few children made from the spec's own example, so that the records
  // under a child and the cases have something real to reach.
  const childExample = resolve(doc, doc.components?.examples?.ChildInput)?.value;
  for (let i = 0; childExample && i < 4; i++) {
    const request = {
      method: 'PUT', path: `/v1/children/${random.uuid()}`, query: '',
      headers: { Authorization: `Bearer ${tokens.commune}`, 'Content-Type': 'application/json' },
      body: Buffer.from(JSON.stringify(childExample)),
    };
    const { response, body, error } = await send(base, request, agent);
    if (error || response.statusCode !== 201) fail(request, `the spec's example child: ${error?.message ?? response.statusCode}`);
    else {
      records.push(recordOf(request, response, body));
      harvest(context, records.at(-1));
    }
  }
  outer:
  for (let round = 0; round < options.rounds; round++) {
    const order = operations.flatMap((operation) => [null, ...ROLES].map((role) => [operation, role]));
    for (let i = order.length - 1; i > 0; i--) {
      const j = random.int(0, i);
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const [operation, role] of order) {
      if (sent >= options.requests || Date.now() - started > options.seconds * 1000) break outer;
      // Revoking would end the role's session: done once, at the end.
      if (operation.id === 'revokeToken' && role !== null) continue;
      const request = buildRequest(operation, role, random, context);
      sent++;
      const { response, body, error } = await send(base, request, agent);
      if (error) {
        fail(request, `no answer (${error.message})`);
        if (/ECONNREFUSED/.test(error.message)) break outer; // the server is gone
        continue;
      }
      const record = recordOf(request, response, body);
      records.push(record);
      if (response.statusCode >= 500) fail(request, `${response.statusCode} ${record.body?.type ?? ''}`);
      else if (response.statusCode >= 400 && !record.content_type.startsWith('application/problem+json'))
        fail(request, `${response.statusCode} as ${record.content_type || 'no content type'}`);
      if (response.statusCode < 300) harvest(context, record);
    }
  }
  for (const role of ROLES) {
    const request = { method: 'POST', path: '/v1/auth/revoke', query: '', headers: { Authorization: `Bearer ${tokens[role]}` }, body: null };
    const { response, body, error } = await send(base, request, agent);
    if (error || response.statusCode !== 204) fail(request, `revoke: ${error?.message ?? response.statusCode}`);
    else records.push(recordOf(request, response, body));
  }
  agent.destroy();
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`fuzz: ${sent} requests over ${operations.length} operations × ${ROLES.length + 1} callers in ${seconds} s` +
    ` (replay exactly: BAOVE_FUZZ_SEED=${options.seed} BAOVE_FUZZ_REQUESTS=${sent})`);
  await writeFile(recordsFile, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const checker = path.join(path.dirname(fileURLToPath(import.meta.url)), 'check.mjs');
  const check = spawnSync(process.execPath, [checker, specFile, recordsFile], { encoding: 'utf8' });
  const contractFailures = check.stdout.split('\n').filter((line) => line.startsWith('FAIL'));
  console.log(check.stdout.split('\n').filter((line) => line.startsWith('contract:')).join('\n'));
  for (const line of contractFailures) failures.push(`spec: ${line}`);
  if (check.status !== 0 && contractFailures.length === 0) failures.push(`check.mjs exited ${check.status}: ${check.stderr}`);
  const distinct = [...new Set(failures)];
  for (const line of distinct.slice(0, MAX_FAILURES_SHOWN)) console.log(`FAIL ${line.slice(0, 600)}`);
  if (distinct.length > MAX_FAILURES_SHOWN) console.log(`... and ${distinct.length - MAX_FAILURES_SHOWN} more`);
  console.log(`fuzz: ${distinct.length} failure(s); seed ${options.seed}`);
  return distinct.length ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
