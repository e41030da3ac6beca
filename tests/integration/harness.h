/* Integration test harness: real databases (through scripts/pg.sh), the real
 * binaries started as child processes, and an HTTP client (libcurl) that
 * records every response for the contract check against openapi.yaml.
 *
 * Environment (set by scripts/test.sh and tests/CMakeLists.txt):
 *   BAOVE_TEST_PG_CTL   scripts/pg.sh of the throwaway test cluster
 *   BAOVE_API_BIN, BAOVE_WORKER_BIN, BAOVE_ADMIN_BIN   the binaries under test
 *   BAOVE_CONTRACT_DIR  where responses are recorded (one JSONL file per test)
 *   BAOVE_TEST_PGBOUNCER_PORT  (optional) run the API through PgBouncer on this
 *                       port; responses are then recorded as <name>_pgbouncer
 *   BAOVE_TEST_READ_REPLICA=1  (optional) the API reads from a streaming
 *                       standby (standby.h); recorded as <name>_replica
 * A missing variable or an unreachable database fails the test: nothing is
 * ever skipped. */
#ifndef BAOVE_TEST_HARNESS_H
#define BAOVE_TEST_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct test_database {
    char name[64];
    char app_url[512];   /* baove_app: what the API and worker use */
    char admin_url[512]; /* baove_owner: what baove-admin uses */
    /* What the API uses: app_url, or with BAOVE_TEST_PGBOUNCER_PORT set, the
     * same database through a real PgBouncer in transaction pooling mode
     * (tests/integration/pgbouncer.sh), started with the first database
     * and stopped by harness_finish().  The worker LISTENs, which needs a
     * session of its own: it always uses app_url. */
    char api_url[512];
    /* With BAOVE_TEST_READ_REPLICA=1 (standby.h): the database on a
     * streaming hot standby, the API's BAOVE_READ_DATABASE_URL; else "". */
    char read_url[512];
    /* The day the test stands on (BAOVE_NOW of every harness_admin run,
     * seeding included: users and units are resolved in the tree valid
     * then); empty: the real clock. */
    char now[40];
};

struct test_process {
    pid_t pid;
    int port;            /* the API's, 0 for other programs */
    char log_path[512];  /* the child's stderr */
};

struct http_response {
    long status;
    char content_type[128];
    char *body;          /* NUL-terminated */
    size_t length;
    json_t *json;        /* parsed body when it is JSON, else NULL */
    char *headers;       /* raw header block of the final response */
};

struct http_options {
    const char *method;        /* default GET */
    const char *path;          /* with query string */
    const char *token;         /* bearer token, or NULL */
    const char *content_type;  /* default application/json when there is a body */
    const char *body;          /* NULL for none */
    size_t body_length;        /* 0 → strlen(body) */
    bool chunked;              /* send the body with Transfer-Encoding: chunked */
    const char *const *headers; /* extra "Name: value" lines, NULL-terminated */
};

/* Starts recording responses into $BAOVE_CONTRACT_DIR/<name>.jsonl and
 * initialises libcurl.  Call once at the start of a test program. */
void harness_init(const char *name);
void harness_finish(void);

/* The value of a required environment variable; aborts the test program
 * with a message when it is missing. */
const char *harness_env(const char *name);

/* Runs a command with extra environment ("NAME=value" strings), feeding
 * stdin_text; returns the exit status (-1 on failure to run) and, when
 * stdout_text is not NULL, what it printed (caller frees). */
int harness_run(const char *const argv[], const char *const env[], const char *stdin_text,
                char **stdout_text);

/* Creates (or re-creates) a database; with migrate, applies the migrations;
 * with seed, loads the seed and the demo users. */
bool harness_create_database(const char *name, bool migrate, bool seed,
                             struct test_database *database);
/* The same, standing on `now` (an RFC 3339 instant, or NULL: the real
 * clock): a test of the 2020 tree stands on a 2020 day, since the seed's
 * tree of today is the one after the reorganisation of 1/7/2025. */
bool harness_create_database_on(const char *name, bool migrate, bool seed, const char *now,
                                struct test_database *database);

/* The first value of an owner's query as text (caller frees), or NULL after
 * printing the error. */
char *harness_query_text(const struct test_database *database, const char *sql);

/* The first value of a query run as the cluster's superuser (psql through
 * scripts/pg.sh: pg_stat_statements, CREATE EXTENSION) as text (caller
 * frees), or NULL when it failed. */
char *harness_superuser_text(const struct test_database *database, const char *sql);

/* Makes pg_stat_statements readable in the database (CREATE EXTENSION as
 * the superuser); false when the cluster did not load it (scripts/pg.sh
 * loads it on every cluster it starts). */
bool harness_track_statements(const struct test_database *database);

/* The calls, in pg_stat_statements, of the database's top-level statements
 * whose text is LIKE pattern (a constant of the test); -1 when unreadable. */
long long harness_statement_calls(const struct test_database *database, const char *pattern);

/* How many sessions of the database wait for a lock (pg_locks: any role
 * may read it, while pg_stat_activity hides other roles' wait events): for
 * a test that holds a row and lets requests run into it. */
int harness_lock_waiters(const struct test_database *database);

/* Two (or more) requests in flight together: holds rows (`lock_sql` run as
 * the owner in a transaction, e.g. "SELECT ... FOR UPDATE") while `count`
 * threads run body(arguments + i * argument_size), each started once the
 * ones before it wait on a lock (a condition, not a duration); then lets go
 * and joins them.  Returns how many were waiting when it let go. */
int harness_race(const struct test_database *database, const char *lock_sql, int count,
                 void *(*body)(void *), void *arguments, size_t argument_size);

/* Whether an owner's query's first value is `expected` (printing both when
 * not), for assert_true(). */
bool harness_query_equals(const struct test_database *database, const char *sql,
                          const char *expected);

/* The file of the key the harness's API and workers seal webhook secrets
 * with (BAOVE_SECRETS_KEY_FILE). */
const char *harness_secrets_key_file(void);

/* Runs baove-admin with the database's owner URL; returns its exit status. */
int harness_admin(const struct test_database *database, const char *const args[],
                  const char *stdin_text, char **stdout_text);

/* A loopback TCP port nobody listens on now. */
int harness_free_port(void);

/* Starts baove-api on a free port against the database and waits until it
 * answers /healthz.  extra_env may be NULL. */
bool harness_start_api(const struct test_database *database, const char *const extra_env[],
                       struct test_process *api);

/* Starts baove-worker; its log is api->log_path. */
bool harness_start_worker(const struct test_database *database,
                          const char *const extra_env[], const char *const args[],
                          struct test_process *worker);

/* Sends SIGTERM and waits (up to 30 s); returns the exit status, or -1 when
 * it died of a signal or had to be killed. */
int harness_stop(struct test_process *process);

/* Waits (up to `seconds`) for a process to exit by itself (e.g.
 * `baove-worker --once`); returns its exit status, or -1 when it died of
 * a signal or had to be killed. */
int harness_wait_exit(struct test_process *process, int seconds);

/* True once `text` appears in the process's log, waiting up to `seconds`. */
bool harness_wait_for_log(const struct test_process *process, const char *text,
                          int occurrences, int seconds);

/* A TCP port on 127.0.0.1 that nothing listens on now. */
int harness_free_port(void);

/* Runs the test cluster's pg.sh (action, argument or NULL) with extra
 * environment ("NAME=value", e.g. BAOVE_PG_DIR and BAOVE_PG_PORT of another
 * cluster; env may be NULL); its first output line into out when not NULL. */
bool harness_pg_ctl(const char *const env[], const char *action, const char *argument,
                    char *out, size_t size);

/* SQL that creates the worker's test job kinds' functions (test_sleep,
 * test_fail: BAOVE_WORKER_TEST_JOBS=1) and their table test_effects, for a
 * test database only. */
extern const char harness_test_job_functions[];

/* Runs SQL on its own connection; the first cell of the answer (caller
 * frees), "" for a command, NULL (and the error on stderr) when it failed. */
char *harness_sql(const char *url, const char *query);

/* Stops or starts the test cluster (scripts/pg.sh stop|start). */
bool harness_cluster(const char *action);

struct http_response *http_call(const struct test_process *api,
                                const struct http_options *options);
struct http_response *http_get(const struct test_process *api, const char *path,
                               const char *token);
struct http_response *http_post_json(const struct test_process *api, const char *path,
                                     const char *token, const char *body);
void http_free(struct http_response *response);

/* The value of a response header (case-insensitive name), copied into a
 * static buffer; NULL when absent. */
const char *http_header(const struct http_response *response, const char *name);

/* One part of a zip answer (an .xlsx: "xl/workbook.xml", …), read back with
 * unzip; NULL when the body is no zip or has no such part (caller frees). */
char *harness_zip_part(const struct http_response *response, const char *part);

/* Signs in and returns the access token (caller frees), or NULL. */
char *harness_login(const struct test_process *api, const char *username, const char *password);

/* Creates (PUT) a child with this id in commune 29980, for tests that need
 * one record to lock or change; returns the status (201). */
long harness_put_child(const struct test_process *api, const char *token, const char *id);
/* The same, answering the whole response (caller frees). */
struct http_response *harness_put_child_response(const struct test_process *api,
                                                 const char *token, const char *id);

/* The string member at a path of keys, e.g. json_text(body, "unit", "code", NULL). */
const char *json_text(const json_t *value, ...);

#endif
