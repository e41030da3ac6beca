#!/usr/bin/env node
// Contract checker for Baove: validates recorded live HTTP responses against
// the OpenAPI description.
//
// Usage: node check.mjs <openapi.yaml> <responses.jsonl> [more.jsonl ...]
//
// Each JSONL line is one recorded response:
//   {"method":"GET","path":"/v1/units/29980","query":"on=2020-01-01",
//    "status":200,"content_type":"application/json",
//    "headers":{"x-request-id":"...","allow":"GET", ...},
//    "body":<parsed JSON or null>,"body_text":"<raw text when not JSON>"}
//
// Output: one `FAIL ...` line per distinct failure, `not exercised: ...` lines
// for documented operations no record hit, then the summary line
//   contract: N responses checked, M operations covered, K failures
// Exit status: 0 = all good; 1 = failures or no records at all; 2 = usage or
// unreadable input/spec.

import { readFile } from 'node:fs/promises';
import process from 'node:process';
import YAML from 'yaml';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/** Operation keys of an OpenAPI Path Item, in the order we report them. */
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** `$id` under which the whole OpenAPI document is registered with Ajv. */
const DOC_ID = 'openapi.json';

/** Most Ajv errors shown for a single failure line. */
const MAX_ERRORS_SHOWN = 8;

// ---------------------------------------------------------------------------
// JSON Pointer helpers (RFC 6901) and local `$ref` resolution
// ---------------------------------------------------------------------------

/** Encode reference tokens as a URI fragment: `#/a~1b/c%7Bd%7D`. */
function fragmentOf(tokens) {
  return '#' + tokens
    .map((t) => '/' + encodeURIComponent(String(t).replaceAll('~', '~0').replaceAll('/', '~1')))
    .join('');
}

/** Parse a local ref `#/a/b` into reference tokens; throws on non-local refs. */
function tokensOf(ref) {
  if (ref === '#') return [];
  if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported, got "${ref}"`);
  return ref
    .slice(2)
    .split('/')
    .map((t) => decodeURIComponent(t).replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** Value at `tokens` inside `doc`, or undefined. */
function getAt(doc, tokens) {
  let node = doc;
  for (const t of tokens) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, t)) return undefined;
    node = node[t];
  }
  return node;
}

/**
 * Follow `$ref` chains of OpenAPI objects (responses, headers, path items...).
 * Returns the target node plus its location, so schemas found inside can be
 * compiled by pointer and their own relative refs keep working.
 */
function deref(doc, node, tokens) {
  for (let hops = 0; node && typeof node === 'object' && typeof node.$ref === 'string'; hops++) {
    if (hops > 32) throw new Error(`$ref cycle at ${fragmentOf(tokens)}`);
    tokens = tokensOf(node.$ref);
    node = getAt(doc, tokens);
    if (node === undefined) throw new Error(`unresolved $ref ${fragmentOf(tokens)}`);
  }
  return { node, tokens };
}

// ---------------------------------------------------------------------------
// Spec loading
// ---------------------------------------------------------------------------

/**
 * OpenAPI 3.0 schemas are not JSON Schema 2020-12. Rewrite the two 3.0-isms
 * that would otherwise be silently wrong or fail to compile:
 * `nullable: true` and boolean `exclusiveMinimum`/`exclusiveMaximum`.
 */
function normalizeOas30(node) {
  if (Array.isArray(node)) return node.forEach(normalizeOas30);
  if (node === null || typeof node !== 'object') return;
  if (node.nullable === true) {
    if (typeof node.type === 'string') node.type = [node.type, 'null'];
    if (Array.isArray(node.enum) && !node.enum.includes(null)) node.enum.push(null);
    delete node.nullable;
  }
  for (const [flag, bound] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']]) {
    if (typeof node[flag] === 'boolean') {
      if (node[flag] && typeof node[bound] === 'number') {
        node[flag] = node[bound];
        delete node[bound];
      } else {
        delete node[flag];
      }
    }
  }
  Object.values(node).forEach(normalizeOas30);
}

async function loadSpec(file) {
  const doc = YAML.parse(await readFile(file, 'utf8'));
  if (!doc || typeof doc !== 'object' || typeof doc.openapi !== 'string') {
    throw new Error(`${file}: not an OpenAPI document (no "openapi" field)`);
  }
  if (!doc.paths || typeof doc.paths !== 'object') {
    throw new Error(`${file}: OpenAPI document has no "paths"`);
  }
  if (doc.openapi.startsWith('3.0')) normalizeOas30(doc);
  return doc;
}

// ---------------------------------------------------------------------------
// Path matching
// ---------------------------------------------------------------------------

/**
 * Compile every path template into a matcher. Each segment is either literal
 * or templated (contains `{param}`); templated parts match one non-empty
 * segment fragment. Literal segments win over templated ones, left to right.
 */
function buildPathMatchers(doc) {
  return Object.keys(doc.paths).map((template) => {
    const segments = template.split('/');
    const source = segments
      .map((seg) =>
        seg
          .split(/(\{[^}/]+\})/)
          .map((part) => (/^\{[^}/]+\}$/.test(part) ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
          .join(''))
      .join('/');
    return {
      template,
      regex: new RegExp(`^${source}$`),
      literal: segments.map((seg) => (seg.includes('{') ? 0 : 1)),
      ...deref(doc, doc.paths[template], ['paths', template]),
    };
  });
}

/** Compare literal-ness vectors: higher (more literal, earlier) wins. */
function moreSpecific(a, b) {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return false;
}

/** Path prefixes from `servers` URLs (e.g. `/api` in `https://h/api`). */
function serverPrefixes(doc) {
  const prefixes = new Set();
  for (const server of doc.servers ?? []) {
    if (typeof server?.url !== 'string') continue;
    const url = server.url.replace(/\{([^}]+)\}/g, (_, v) => server.variables?.[v]?.default ?? '');
    try {
      const p = new URL(url, 'http://placeholder').pathname.replace(/\/+$/, '');
      if (p) prefixes.add(p);
    } catch {
      // Unparseable server URL: ignore, the linter reports it.
    }
  }
  return [...prefixes];
}

// ---------------------------------------------------------------------------
// Small record helpers
// ---------------------------------------------------------------------------

/** `application/json; charset=utf-8` -> `application/json`. */
const mediaTypeOf = (ct) => (typeof ct === 'string' ? ct.split(';')[0].trim().toLowerCase() : '');

const isJsonMediaType = (mt) => mt === 'application/json' || mt.endsWith('+json');

const PROBLEM_JSON = 'application/problem+json';

/** True when the record carries no body at all. */
function isEmptyBody(rec) {
  const noBody = rec.body === undefined || rec.body === null || rec.body === '';
  return noBody && !rec.body_text;
}

/** Body as text (for text/* media types). */
function bodyText(rec) {
  if (typeof rec.body_text === 'string') return rec.body_text;
  if (typeof rec.body === 'string') return rec.body;
  return rec.body === undefined || rec.body === null ? '' : JSON.stringify(rec.body);
}

/** Pick the content key for a media type: exact, then `type/*`, then `*\/*`. */
function matchContentKey(content, mt) {
  const keys = Object.keys(content);
  const lower = new Map(keys.map((k) => [mediaTypeOf(k), k]));
  return lower.get(mt) ?? lower.get(mt.split('/')[0] + '/*') ?? lower.get('*/*');
}

/** Does a (dereferenced) schema say the value is a string? */
function schemaIsString(schema) {
  const t = schema?.type;
  return t === 'string' || (Array.isArray(t) && t.includes('string'));
}

/** Ajv errors -> short strings: `/items/0/name must be string`. */
function formatAjvErrors(errors) {
  const lines = (errors ?? []).map((e) => {
    let msg = `${e.instancePath || '/'} ${e.message}`;
    if (e.keyword === 'additionalProperties') msg += ` '${e.params.additionalProperty}'`;
    if (e.keyword === 'enum') msg += ` ${JSON.stringify(e.params.allowedValues)}`;
    return msg;
  });
  const unique = [...new Set(lines)];
  return unique.length > MAX_ERRORS_SHOWN
    ? [...unique.slice(0, MAX_ERRORS_SHOWN), `... ${unique.length - MAX_ERRORS_SHOWN} more`]
    : unique;
}

// ---------------------------------------------------------------------------
// The checker
// ---------------------------------------------------------------------------

class ContractChecker {
  constructor(doc) {
    this.doc = doc;
    this.matchers = buildPathMatchers(doc);
    this.prefixes = serverPrefixes(doc);
    this.ajv = this.#makeAjv();
    this.validators = new Map(); // fragment -> compiled validate fn
    this.failures = new Map(); // dedup key -> failure
    this.covered = new Set(); // "GET /v1/units/{code}"
    this.records = 0;
  }

  #makeAjv() {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    // OpenAPI-specific formats: check integer ranges, accept the rest.
    ajv.addFormat('int32', { type: 'number', validate: (n) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
    ajv.addFormat('int64', { type: 'number', validate: (n) => Number.isInteger(n) });
    ajv.addFormat('float', { type: 'number', validate: () => true });
    ajv.addFormat('double', { type: 'number', validate: () => true });
    ajv.addFormat('byte', /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/);
    ajv.addFormat('binary', true);
    ajv.addFormat('password', true);
    // OpenAPI 3.1 Schema Object keywords that carry no validation meaning.
    for (const keyword of ['discriminator', 'xml', 'externalDocs', 'example']) ajv.addKeyword(keyword);
    // Register the whole document so `#/components/...` refs resolve against it.
    // The root is not itself a schema, so skip meta-schema validation of it.
    ajv.addSchema(this.doc, DOC_ID, undefined, false);
    return ajv;
  }

  /** Compiled validator for the schema at `tokens` in the document (cached). */
  validatorAt(tokens) {
    const fragment = fragmentOf(tokens);
    if (!this.validators.has(fragment)) {
      let entry;
      try {
        entry = { validate: this.ajv.compile({ $ref: DOC_ID + fragment }) };
      } catch (err) {
        entry = { error: `cannot compile schema ${fragment}: ${err.message}` };
      }
      this.validators.set(fragment, entry);
    }
    return this.validators.get(fragment);
  }

  /** Record one failure; identical failures are merged and counted. */
  fail(ctx, reason, errors = []) {
    const { method, label, status, path, where } = ctx;
    const key = JSON.stringify([method, label, status, reason, errors]);
    const seen = this.failures.get(key);
    if (seen) seen.count++;
    else this.failures.set(key, { method, label, status, reason, errors, path, where, count: 1 });
  }

  /** Find the best path template for a concrete path, trying server prefixes too. */
  matchPath(path) {
    const candidates = [path];
    for (const p of this.prefixes) if (path.startsWith(p + '/')) candidates.push(path.slice(p.length));
    for (const candidate of candidates) {
      let best = null;
      for (const m of this.matchers) {
        if (m.regex.test(candidate) && (!best || moreSpecific(m.literal, best.literal))) best = m;
      }
      if (best) return best;
    }
    return null;
  }

  /** Validate `value` against the schema at `tokens`; reports a failure if invalid. */
  checkSchema(ctx, tokens, value, what) {
    const { validate, error } = this.validatorAt(tokens);
    if (error) return this.fail(ctx, error);
    if (validate(value)) return;
    // Name the schema readably: its $ref target, else its location.
    const ref = getAt(this.doc, tokens)?.$ref;
    const name = typeof ref === 'string' ? ref : '#/' + tokens.map((t) => String(t).replaceAll('~', '~0').replaceAll('/', '~1')).join('/');
    this.fail(ctx, `${what} does not match schema ${name}`, formatAjvErrors(validate.errors));
  }

  /** Body must be application/problem+json and a valid Problem document. */
  checkProblem(ctx, rec) {
    const mt = mediaTypeOf(rec.content_type);
    if (mt !== PROBLEM_JSON) return; // reported by the generic >= 400 rule
    const tokens = ['components', 'schemas', 'Problem'];
    if (getAt(this.doc, tokens) === undefined) return this.fail(ctx, 'spec has no #/components/schemas/Problem');
    if (isEmptyBody(rec)) return this.fail(ctx, 'empty body, expected a Problem document');
    if (rec.body === undefined || rec.body === null) return this.fail(ctx, 'body is not valid JSON');
    this.checkSchema(ctx, tokens, rec.body, 'Problem body');
  }

  /** Check one recorded response. `where` is "file:line" for messages. */
  check(rec, where) {
    this.records++;
    const method = String(rec?.method ?? '').toUpperCase();
    const rawPath = String(rec?.path ?? '');
    const path = rawPath.split('?')[0];
    const status = Number(rec?.status);
    const ctx = { method, label: path, status, path, where };
    if (!method || !path.startsWith('/') || !Number.isInteger(status)) {
      return this.fail({ ...ctx, label: rawPath }, 'malformed record (needs method, path, integer status)');
    }
    rec.headers = Object.fromEntries(Object.entries(rec.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));

    const match = this.matchPath(path);
    if (match) ctx.label = match.template;

    // Rule for every response: errors are RFC 9457 problem documents.
    if (status >= 400 && mediaTypeOf(rec.content_type) !== PROBLEM_JSON) {
      this.fail(ctx, `status >= 400 must be ${PROBLEM_JSON}, got "${rec.content_type ?? ''}"`);
    }

    if (!match) {
      // Unknown path: must be a 404 problem.
      if (status !== 404) this.fail(ctx, `no path template matches; expected 404, got ${status}`);
      else this.checkProblem(ctx, rec);
      return;
    }

    const item = match.node ?? {};
    const defined = HTTP_METHODS.filter((m) => item[m]).map((m) => m.toUpperCase());
    let op = method.toLowerCase();
    // HEAD is implied by GET (RFC 9110): check it against GET without a body.
    const impliedHead = method === 'HEAD' && !item.head && !!item.get;
    if (impliedHead) op = 'get';

    if (!item[op]) {
      // A CORS preflight from an allowed origin (info.description, "Browsers
      // on other origins"): 204, no body, the origin allowed, the path's methods.
      const headers = rec.headers ?? {};
      if (method === 'OPTIONS' && status === 204) {
        if (!headers['access-control-allow-origin'])
          this.fail(ctx, 'a 204 to OPTIONS is a CORS preflight: Access-Control-Allow-Origin missing');
        else {
          const sent = (headers['access-control-allow-methods'] ?? '').split(',')
            .map((m) => m.trim()).filter((m) => m !== '' && m !== 'HEAD').sort();
          if (sent.join(',') !== [...defined].sort().join(','))
            this.fail(ctx, `preflight methods "${sent.join(', ')}", documented "${defined.join(', ')}"`);
        }
        return;
      }
      this.checkMethodNotAllowed(ctx, rec, defined);
      return;
    }
    if (!impliedHead) this.covered.add(`${method} ${match.template}`);
    this.checkOperation(ctx, rec, match, op, impliedHead);
  }

  /** Path exists but the method does not: 405 + Problem + exact Allow. */
  checkMethodNotAllowed(ctx, rec, defined) {
    const { status } = ctx;
    if (status !== 405) return this.fail(ctx, `method not documented for this path; expected 405, got ${status}`);
    this.checkProblem(ctx, rec);
    const allowHeader = rec.headers.allow;
    if (typeof allowHeader !== 'string') return this.fail(ctx, `405 without Allow header (expected ${defined.join(', ')})`);
    const allowed = new Set(allowHeader.split(',').map((m) => m.trim().toUpperCase()).filter(Boolean));
    const expected = new Set(defined);
    const missing = [...expected].filter((m) => !allowed.has(m));
    const extra = [...allowed].filter((m) => !expected.has(m) && !(m === 'HEAD' && expected.has('GET')));
    if (missing.length || extra.length) {
      const parts = [];
      if (missing.length) parts.push(`missing ${missing.join(',')}`);
      if (extra.length) parts.push(`unexpected ${extra.join(',')}`);
      this.fail(ctx, `Allow "${allowHeader}" does not list exactly ${defined.join(', ')} (${parts.join('; ')})`);
    }
  }

  /** A documented operation: status, content type, body schema, headers. */
  checkOperation(ctx, rec, match, op, isHead) {
    const { status } = ctx;
    const opTokens = [...match.tokens, op];
    const responses = getAt(this.doc, [...opTokens, 'responses']) ?? {};
    const code = String(status);
    const key =
      [code, `${code[0]}XX`, `${code[0]}xx`, 'default'].find((k) => Object.hasOwn(responses, k));
    if (key === undefined) return this.fail(ctx, 'undocumented status');

    let response;
    try {
      response = deref(this.doc, responses[key], [...opTokens, 'responses', key]);
    } catch (err) {
      return this.fail(ctx, `response ${key}: ${err.message}`);
    }
    const content = response.node?.content;
    const mt = mediaTypeOf(rec.content_type);

    if (!content || Object.keys(content).length === 0) {
      if (!isEmptyBody(rec)) this.fail(ctx, `response ${key} documents no content, but the body is not empty`);
    } else if (isHead) {
      // HEAD: no body; the content type, when sent, must still be documented.
      if (!isEmptyBody(rec)) this.fail(ctx, 'HEAD response has a body');
      if (mt && !matchContentKey(content, mt)) {
        this.fail(ctx, `content type "${mt}" not documented (documented: ${Object.keys(content).join(', ')})`);
      }
    } else if (!mt) {
      this.fail(ctx, `no content type recorded (documented: ${Object.keys(content).join(', ')})`);
    } else {
      const contentKey = matchContentKey(content, mt);
      if (!contentKey) {
        this.fail(ctx, `content type "${mt}" not documented (documented: ${Object.keys(content).join(', ')})`);
      } else {
        this.checkBody(ctx, rec, mt, [...response.tokens, 'content', contentKey]);
      }
    }

    this.checkHeaders(ctx, rec, response);
  }

  /** Validate the body for the chosen media type object. */
  checkBody(ctx, rec, mt, mediaTokens) {
    const media = getAt(this.doc, mediaTokens) ?? {};
    if (media.schema === undefined) return; // no schema: anything goes
    const schemaTokens = [...mediaTokens, 'schema'];
    if (isJsonMediaType(mt)) {
      if (isEmptyBody(rec)) return this.fail(ctx, `empty body, expected ${mt}`);
      if (rec.body === undefined || rec.body === null) return this.fail(ctx, 'body is not valid JSON');
      this.checkSchema(ctx, schemaTokens, rec.body, 'body');
    } else if (mt.startsWith('text/')) {
      let schema;
      try {
        schema = deref(this.doc, media.schema, schemaTokens).node;
      } catch (err) {
        return this.fail(ctx, err.message);
      }
      if (schemaIsString(schema) && bodyText(rec).length === 0) this.fail(ctx, `empty ${mt} body`);
    }
  }

  /** Required response headers must be present; present ones must match their schema. */
  checkHeaders(ctx, rec, response) {
    for (const [name, raw] of Object.entries(response.node?.headers ?? {})) {
      if (name.toLowerCase() === 'content-type') continue; // ignored by OpenAPI
      let header;
      try {
        header = deref(this.doc, raw, [...response.tokens, 'headers', name]);
      } catch (err) {
        this.fail(ctx, `header ${name}: ${err.message}`);
        continue;
      }
      const value = rec.headers[name.toLowerCase()];
      if (value === undefined || value === null) {
        if (header.node?.required === true) this.fail(ctx, `missing required header ${name}`);
        continue;
      }
      if (header.node?.schema === undefined) continue;
      const { validate, error } = this.validatorAt([...header.tokens, 'schema']);
      if (error) {
        this.fail(ctx, error);
        continue;
      }
      // Header values are strings on the wire; also try their typed readings.
      const s = String(value);
      const readings = [s];
      if (s.trim() !== '' && !Number.isNaN(Number(s))) readings.push(Number(s));
      if (s === 'true' || s === 'false') readings.push(s === 'true');
      if (!readings.some((v) => validate(v))) {
        this.fail(ctx, `header ${name} value ${JSON.stringify(s)} does not match its schema`, formatAjvErrors(validate.errors));
      }
    }
  }

  /** Documented operations that no record exercised, in document order. */
  notExercised() {
    const out = [];
    for (const m of this.matchers) {
      for (const method of HTTP_METHODS) {
        const id = `${method.toUpperCase()} ${m.template}`;
        if (m.node?.[method] && !this.covered.has(id)) out.push(id);
      }
    }
    return out;
  }
}

// ---------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------

async function main(argv) {
  if (argv.length < 2) {
    console.error('usage: node check.mjs <openapi.yaml> <responses.jsonl> [more.jsonl ...]');
    return 2;
  }
  const [specFile, ...inputs] = argv;

  let checker;
  try {
    checker = new ContractChecker(await loadSpec(specFile));
  } catch (err) {
    console.error(`contract: cannot load spec: ${err.message}`);
    return 2;
  }

  for (const file of inputs) {
    let text;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      console.error(`contract: cannot read ${file}: ${err.message}`);
      return 2;
    }
    text.split('\n').forEach((line, i) => {
      const where = `${file}:${i + 1}`;
      if (line.trim() === '') return;
      let rec;
      try {
        rec = JSON.parse(line);
      } catch (err) {
        checker.records++;
        checker.fail({ method: '-', label: '-', status: '-', path: '-', where }, `invalid JSON line: ${err.message}`);
        return;
      }
      checker.check(rec, where);
    });
  }

  if (checker.records === 0) {
    checker.fail({ method: '-', label: '-', status: '-', path: '-', where: inputs.join(', ') }, 'no records in input (an empty run is a failure)');
  }

  for (const f of checker.failures.values()) {
    const errs = f.errors.length ? ` [${f.errors.join('; ')}]` : '';
    const example = f.path !== f.label ? `, e.g. ${f.path}` : '';
    const times = f.count > 1 ? `${f.count} records, first at ` : '';
    console.log(`FAIL ${f.method} ${f.label} ${f.status}: ${f.reason}${errs} (${times}${f.where}${example})`);
  }
  for (const id of checker.notExercised()) console.log(`not exercised: ${id}`);
  console.log(
    `contract: ${checker.records} responses checked, ${checker.covered.size} operations covered, ${checker.failures.size} failures`,
  );
  return checker.failures.size > 0 ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
