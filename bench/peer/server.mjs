// The Node peer of bench/run.sh: GET /v1/children/{id} written the usual
// way for Node (node:http, pg with a pool), sending PostgreSQL the same
// statements as baove-api does for the same request (bench/get_child.sql
// lists them), with named prepared statements like the API's, over a pool
// of the same size.  Like the API it keeps the principal of a token it has
// looked up (a Map, for 5 minutes) and lets scope_enter() verify it in every
// transaction, looking the token up again when scope_enter() refuses it
// (SQLSTATE BV401); unlike the API it sends one statement at a time (pg has
// no pipelining): BEGIN, the scope, the read that writes its own audit
// entry, COMMIT — four round trips where the API sends them in one.  It
// answers the stored document's text as PostgreSQL returns it (no parse and
// print), so the comparison is of the servers, not of JSON libraries.
//
// Environment: DATABASE_URL (baove_app), PEER_PORT, PEER_POOL (connections).
import http from 'node:http';
import crypto from 'node:crypto';
import pg from 'pg';

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.PEER_POOL || 8),
  application_name: 'baove-peer',
});
// The API's session settings (common/db.c db_connect).
pool.on('connect', (client) => {
  client.query("SET TIME ZONE 'UTC'; SET datestyle = 'ISO, YMD'; SET intervalstyle = 'iso_8601'");
});

const TOKEN = {
  name: 'peer_token',
  text: `SELECT p.id, p.username, p.kind, p.role, p.unit_id, u.code
           FROM access_tokens t JOIN principals p ON p.id = t.principal_id
           JOIN units u ON u.id = p.unit_id
          WHERE t.token_hash = $1 AND t.revoked_at IS NULL
            AND (t.expires_at IS NULL OR t.expires_at > $2) AND p.disabled_at IS NULL`,
};
const SCOPE = {
  name: 'peer_scope',
  text: 'SELECT scope_enter($1, $2, $3, $4, $5, $6)',
};
const PRINCIPAL_MAX_AGE_MS = 5 * 60 * 1000;
const principals = new Map(); // token hash -> {principal, storedAt}
// The read and its audit entry in one statement, as the API sends it
// (api/operation/operation.c read_by_id with audit_log_read_clause): the
// entry is written only when the child is there and not deleted.
const CHILD = {
  name: 'peer_child',
  text: `WITH record AS (SELECT c.version, c.unit_id, c.deleted_at IS NOT NULL AS deleted,
                                child_document(c, $2)::text AS document
                           FROM children c WHERE c.id = $1),
         audited AS (INSERT INTO audit_log (at, actor_id, actor, role, action, resource_type,
                                            resource_ids, request_id, unit_id, outcome)
                     SELECT $3, $4, $5, $6, 'read', 'children', ARRAY[$1::uuid], $7,
                            unit_id, 'success' FROM record WHERE NOT deleted)
         SELECT version, unit_id, deleted, document FROM record`,
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// Today in Asia/Ho_Chi_Minh (UTC+07:00, no daylight saving).
const today = (now) => new Date(now.getTime() + 7 * 3600 * 1000).toISOString().slice(0, 10);

function answer(response, status, body, headers = {}) {
  response.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  response.end(body);
}

async function lookUp(client, hash, now) {
  const principal = (await client.query({ ...TOKEN, values: [hash, now.toISOString()] })).rows[0];
  if (principal) principals.set(hash, { principal, storedAt: Date.now() });
  else principals.delete(hash);
  return principal;
}

// One transaction of the read as the principal; null when scope_enter()
// refused the principal (then nothing was read).
async function readAs(client, hash, principal, id, now) {
  await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
  try {
    await client.query({ ...SCOPE, values: [hash, principal.id, principal.role,
                                            String(principal.unit_id), now.toISOString(),
                                            today(now)] });
  } catch (error) {
    await client.query('ROLLBACK');
    if (error.code === 'BV401') return null;
    throw error;
  }
  const child = await client.query({ ...CHILD, rowMode: 'array',
                                      values: [id, today(now), now.toISOString(), principal.id,
                                               principal.username, principal.role,
                                               crypto.randomUUID()] });
  await client.query('COMMIT');
  const row = child.rows[0];
  if (!row || row[2]) return { status: 404 };
  return { status: 200, row };
}

async function getChild(request, response, id) {
  const bearer = /^Bearer (.+)$/.exec(request.headers.authorization || '');
  if (!bearer) return answer(response, 401, '{"status":401}');
  const now = new Date();
  const hash = crypto.createHash('sha256').update(bearer[1]).digest('hex');
  const client = await pool.connect();
  try {
    const cached = principals.get(hash);
    let principal = cached && Date.now() - cached.storedAt < PRINCIPAL_MAX_AGE_MS
      ? cached.principal : await lookUp(client, hash, now);
    if (!principal) return answer(response, 401, '{"status":401}');
    let result = await readAs(client, hash, principal, id, now);
    if (result === null) { // refused in flight: the real lookup, then once more
      principal = await lookUp(client, hash, now);
      if (!principal) return answer(response, 401, '{"status":401}');
      result = await readAs(client, hash, principal, id, now);
      if (result === null) return answer(response, 401, '{"status":401}');
    }
    if (result.status === 404) return answer(response, 404, '{"status":404}');
    answer(response, 200, result.row[3], { ETag: `"${result.row[0]}"` });
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    answer(response, 500, JSON.stringify({ status: 500, detail: error.message }));
  } finally {
    client.release();
  }
}

const server = http.createServer((request, response) => {
  const match = /^\/v1\/children\/([^/?]+)$/.exec(request.url);
  if (request.method !== 'GET' || !match) return answer(response, 404, '{"status":404}');
  if (!UUID.test(match[1])) return answer(response, 404, '{"status":404}');
  getChild(request, response, match[1]).catch((error) => answer(response, 500, '{}'));
});
server.keepAliveTimeout = 30000;
server.listen(Number(process.env.PEER_PORT || 8098), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))));
