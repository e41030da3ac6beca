/* The worker against a real database and real processes: a job's life
 * (retries with backoff, dead with its last error), schedules fired once per
 * slot by two workers, a SIGKILLed worker's job finished by another once its
 * lease expired (exactly once), lease renewal protecting a long job, a
 * database restart, a graceful stop, debounced wake-ups, --once exit codes,
 * and the API's view of the queue (/v1/jobs, /metrics).
 *
 * Jobs that sleep or fail on demand use the test kinds test_sleep and
 * test_fail, enabled by BAOVE_WORKER_TEST_JOBS=1; their SQL functions are
 * created here, in the test database only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define NOW "2020-04-29T07:00:00+07:00" /* a Wednesday of the plan */

/* ---- helpers ----------------------------------------------------------------- */

/* Runs SQL as `url`'s role; returns the first cell (caller frees) or NULL. */
static char *sql_as(const char *url, const char *query)
{
    PGconn *connection = PQconnectdb(url);
    assert_int_equal(PQstatus(connection), CONNECTION_OK);
    PGresult *result = PQexec(connection, query);
    ExecStatusType status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        fail_msg("SQL failed: %s\n%s", PQerrorMessage(connection), query);
    char *value = status == PGRES_TUPLES_OK && PQntuples(result) > 0 && !PQgetisnull(result, 0, 0)
                      ? strdup(PQgetvalue(result, 0, 0)) : NULL;
    PQclear(result);
    PQfinish(connection);
    return value;
}

/* Runs SQL as the owner. */
static char *sql(const struct test_database *database, const char *query)
{
    return sql_as(database->admin_url, query);
}

static void assert_sql_as(const char *url, const char *query, const char *expected)
{
    char *value = sql_as(url, query);
    char gave[1024];
    snprintf(gave, sizeof gave, "%s", value != NULL ? value : "NULL");
    bool equal = value != NULL && strcmp(value, expected) == 0;
    free(value);
    if (!equal)
        fail_msg("%s\n  gave %s, expected %s", query, gave, expected);
}

static void assert_sql(const struct test_database *database, const char *query,
                       const char *expected)
{
    assert_sql_as(database->admin_url, query, expected);
}

/* A database whose only schedules are the housekeeping ones (the two
 * prune jobs, seeded with the queue): these tests count jobs and log lines,
 * and the indicator rollup has tests of its own (test_indicators.c). */
static void setup_database(const char *name, struct test_database *database)
{
    assert_true(harness_create_database_on(name, true, true, NOW, database));
    free(sql(database, harness_test_job_functions));
    free(sql(database, "DELETE FROM schedules WHERE name NOT IN ('prune_change_log', "
                       "'prune_jobs') RETURNING name"));
}

/* Waits for a started process to exit; returns its exit status (-1 when it
 * was killed or did not exit within a minute). */
static int wait_exit(struct test_process *process)
{
    int status = 0;
    for (int waited = 0; waited < 6000; waited++) {
        if (waitpid(process->pid, &status, WNOHANG) == process->pid) {
            process->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        usleep(10000);
    }
    kill(process->pid, SIGKILL);
    waitpid(process->pid, &status, 0);
    process->pid = 0;
    return -1;
}

/* Runs `baove-worker --once` at `now` with extra settings; returns its exit status. */
static int run_once(const struct test_database *database, const char *now,
                    const char *const extra[])
{
    char now_setting[80];
    snprintf(now_setting, sizeof now_setting, "BAOVE_NOW=%s", now);
    const char *env[12] = {now_setting, "BAOVE_WORKER_TEST_JOBS=1"};
    size_t count = 2;
    for (size_t i = 0; extra != NULL && extra[i] != NULL && count < 11; i++)
        env[count++] = extra[i];
    env[count] = NULL;
    struct test_process worker;
    assert_true(harness_start_worker(database, env, (const char *const[]){"--once", NULL},
                                     &worker));
    return wait_exit(&worker);
}

static void sleep_seconds(double seconds)
{
    struct timespec pause = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
    nanosleep(&pause, NULL);
}

/* ---- a job's life -------------------------------------------------------------- */

static void jobs_retry_with_backoff_then_die_keeping_the_last_error(void **state)
{
    (void)state;
    struct test_database database;
    setup_database("baove_t_worker_life", &database);

    /* A fresh database: the seeded daily schedules fire and succeed: exit 0. */
    assert_int_equal(run_once(&database, NOW, NULL), 0);
    assert_sql(&database,
               "SELECT string_agg(kind || ':' || status || ':' || attempts, ',' ORDER BY kind) "
               "FROM jobs", "prune_change_log:succeeded:1,prune_jobs:succeeded:1");
    /* Next slots: 02:00 and 02:30 local of the next day. */
    assert_sql(&database,
               "SELECT string_agg(name || '@' || rfc3339(next_run_at), ',' ORDER BY name) "
               "FROM schedules",
               "prune_change_log@2020-04-30T02:00:00+07:00,"
               "prune_jobs@2020-04-30T02:30:00+07:00");

    /* Retries without delay (base 0): three attempts, then dead. */
    free(sql(&database,
             "INSERT INTO jobs (kind, payload, max_attempts, run_at, created_at) VALUES "
             "('test_fail', '{\"why\": \"first\"}', 3, '" NOW "', '" NOW "'), "
             "('test_sleep', '{\"seconds\": 0, \"tag\": \"ok\"}', 3, '" NOW "', '" NOW "'), "
             "('no_such_kind', '{}', 1, '" NOW "', '" NOW "')"));
    assert_int_equal(run_once(&database, NOW, (const char *const[]){
                                  "BAOVE_JOB_RETRY_BASE_SECONDS=0", NULL}), 1);
    assert_sql(&database,
               "SELECT status || ':' || attempts || ':' || last_error FROM jobs "
               "WHERE kind = 'test_fail'",
               "dead:3:deliberate failure: first (SQLSTATE P0001)");
    assert_sql(&database,
               "SELECT status || ':' || attempts || ':' || last_error FROM jobs "
               "WHERE kind = 'no_such_kind'",
               "dead:1:unknown job kind \"no_such_kind\": no worker of this version runs it");
    assert_sql(&database,
               "SELECT status || ':' || attempts || ':' || ((result->>'now')::timestamptz "
               "       = '" NOW "') || ':' || (last_error IS NULL) FROM jobs "
               "WHERE kind = 'test_sleep'", "succeeded:1:true:true");
    /* Failed attempts were rolled back: only the successful job's effect. */
    assert_sql(&database, "SELECT string_agg(tag, ',') FROM test_effects", "ok");

    /* With the default backoff (10 s base, full jitter): failed, retried
     * within [now, now + 10 s]. */
    free(sql(&database,
             "INSERT INTO jobs (kind, payload, max_attempts, run_at, created_at) VALUES "
             "('test_fail', '{\"why\": \"second\"}', 2, '" NOW "', '" NOW "')"));
    assert_int_equal(run_once(&database, NOW, NULL), 1);
    assert_sql(&database,
               "SELECT status || ':' || attempts || ':' || (run_at BETWEEN '" NOW "' AND "
               "       timestamptz '" NOW "' + interval '10 seconds') || ':' || last_error "
               "FROM jobs WHERE payload->>'why' = 'second'",
               "failed:1:true:deliberate failure: second (SQLSTATE P0001)");
    /* Same "now": nothing is due, nothing fails: exit 0, still 1 attempt. */
    assert_int_equal(run_once(&database, NOW, NULL), 0);
    assert_sql(&database, "SELECT attempts FROM jobs WHERE payload->>'why' = 'second'", "1");
    /* 11 s later the retry is due; it is the last attempt: dead. */
    assert_int_equal(run_once(&database, "2020-04-29T07:00:11+07:00", NULL), 1);
    assert_sql(&database,
               "SELECT status || ':' || attempts FROM jobs WHERE payload->>'why' = 'second'",
               "dead:2");

    /* The API's view. */
    struct test_process api;
    const char *api_env[] = {"BAOVE_NOW=" NOW, NULL};
    assert_true(harness_start_api(&database, api_env, &api));
    char *district = harness_login(&api, "demo_district", "baove-demo");
    char *commune = harness_login(&api, "demo_commune", "baove-demo");
    assert_non_null(district);
    assert_non_null(commune);

    struct http_response *response = http_get(&api, "/v1/jobs?status=dead", district);
    assert_int_equal(response->status, 200);
    assert_int_equal(json_array_size(json_object_get(response->json, "items")), 3);
    assert_true(json_is_null(json_object_get(response->json, "next_cursor")));
    http_free(response);

    /* Every job, one per page, following the cursors: each exactly once. */
    char path[256] = "/v1/jobs?limit=1";
    int pages = 0;
    char seen[8][40] = {{0}};
    for (;;) {
        response = http_get(&api, path, district);
        assert_int_equal(response->status, 200);
        json_t *items = json_object_get(response->json, "items");
        assert_int_equal(json_array_size(items), 1);
        const char *id = json_text(json_array_get(items, 0), "id", NULL);
        for (int i = 0; i < pages; i++)
            assert_string_not_equal(seen[i], id);
        snprintf(seen[pages++], sizeof seen[0], "%s", id);
        json_t *next = json_object_get(response->json, "next_cursor");
        if (json_is_null(next)) {
            http_free(response);
            break;
        }
        snprintf(path, sizeof path, "/v1/jobs?limit=1&cursor=%s", json_string_value(next));
        http_free(response);
        assert_true(pages < 8);
    }
    assert_int_equal(pages, 6); /* 2 housekeeping, 2 test_fail, test_sleep, no_such_kind */

    char *dead_id = sql(&database, "SELECT id FROM jobs WHERE payload->>'why' = 'first'");
    snprintf(path, sizeof path, "/v1/jobs/%s", dead_id);
    response = http_get(&api, path, district);
    assert_int_equal(response->status, 200);
    assert_string_equal(json_text(response->json, "status", NULL), "dead");
    assert_string_equal(json_text(response->json, "last_error", NULL),
                        "deliberate failure: first (SQLSTATE P0001)");
    assert_int_equal(json_integer_value(json_object_get(response->json, "attempts")), 3);
    assert_string_equal(json_text(response->json, "run_at", NULL), NOW);
    http_free(response);
    free(dead_id);

    response = http_get(&api, "/v1/jobs?kind=prune_jobs", district);
    assert_int_equal(response->status, 200);
    json_t *items = json_object_get(response->json, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(json_text(json_array_get(items, 0), "unique_key", NULL), "prune_jobs");
    http_free(response);

    const struct {
        const char *path;
        long status;
        const char *type;
    } refusals[] = {
        {"/v1/jobs?status=sleeping", 400, "/problems/invalid-parameter"},
        {"/v1/jobs?kind=Bad-Kind", 400, "/problems/invalid-parameter"},
        {"/v1/jobs?cursor=12", 400, "/problems/invalid-parameter"},
        {"/v1/jobs?limit=0", 400, "/problems/invalid-parameter"},
        {"/v1/jobs/00000000-0000-4000-8000-000000000000", 404, "/problems/not-found"},
        {"/v1/jobs/not-a-uuid", 404, "/problems/not-found"},
    };
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        response = http_get(&api, refusals[i].path, district);
        assert_int_equal(response->status, refusals[i].status);
        assert_string_equal(json_text(response->json, "type", NULL), refusals[i].type);
        http_free(response);
    }
    response = http_get(&api, "/v1/jobs", commune);
    assert_int_equal(response->status, 403);
    http_free(response);
    response = http_get(&api, "/v1/jobs", NULL);
    assert_int_equal(response->status, 401);
    http_free(response);

    /* Queue depth at scrape time: 3 dead, 3 succeeded, nothing else. */
    response = http_get(&api, "/metrics", NULL);
    assert_int_equal(response->status, 200);
    const char *expected[] = {"baove_jobs{status=\"dead\"} 3\n",
                              "baove_jobs{status=\"succeeded\"} 3\n",
                              "baove_jobs{status=\"queued\"} 0\n",
                              "baove_jobs{status=\"running\"} 0\n",
                              "baove_jobs{status=\"failed\"} 0\n"};
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        if (strstr(response->body, expected[i]) == NULL)
            fail_msg("/metrics lacks %s", expected[i]);
    http_free(response);
    free(district);
    free(commune);
    assert_int_equal(harness_stop(&api), 0);
}

/* ---- schedules ---------------------------------------------------------------- */

static void two_workers_fire_every_schedule_slot_once(void **state)
{
    (void)state;
    struct test_database database;
    setup_database("baove_t_worker_slots", &database);
    free(sql(&database,
             "INSERT INTO schedules (name, job_kind, payload, every) VALUES "
             "('every_ten', 'test_sleep', '{\"tag\": \"slot\"}', '10 minutes')"));
    /* Five slots, ten minutes apart; each time two workers race for them. */
    for (int slot = 0; slot < 5; slot++) {
        char now[64], setting[80];
        snprintf(now, sizeof now, "2020-04-29T07:%02d:00+07:00", slot * 10);
        snprintf(setting, sizeof setting, "BAOVE_NOW=%s", now);
        const char *env[] = {setting, "BAOVE_WORKER_TEST_JOBS=1", NULL};
        struct test_process first, second;
        assert_true(harness_start_worker(&database, env, (const char *const[]){"--once", NULL},
                                         &first));
        assert_true(harness_start_worker(&database, env, (const char *const[]){"--once", NULL},
                                         &second));
        assert_int_equal(wait_exit(&first), 0);
        assert_int_equal(wait_exit(&second), 0);
    }
    assert_sql(&database,
               "SELECT count(*) || ':' || count(DISTINCT created_at) || ':' || "
               "       bool_and(status = 'succeeded' AND attempts = 1) FROM jobs "
               "WHERE unique_key = 'every_ten'", "5:5:true");
    assert_sql(&database, "SELECT count(*) FROM test_effects WHERE tag = 'slot'", "5");
    /* The daily schedules: one slot each in those forty minutes. */
    assert_sql(&database, "SELECT count(*) FROM jobs WHERE kind LIKE 'prune_%'", "2");

    /* Three hours of downtime: one catch-up run, not eighteen; the next slot
     * counts from then. */
    assert_int_equal(run_once(&database, "2020-04-29T10:40:00+07:00", NULL), 0);
    assert_sql(&database, "SELECT count(*) FROM jobs WHERE unique_key = 'every_ten'", "6");
    assert_sql(&database,
               "SELECT rfc3339(next_run_at) || ' ' || rfc3339(last_run_at) FROM schedules "
               "WHERE name = 'every_ten'",
               "2020-04-29T10:50:00+07:00 2020-04-29T10:40:00+07:00");

    /* Two long-running workers on the same "now": the slot fires once. */
    free(sql(&database, "UPDATE schedules SET next_run_at = NULL WHERE name = 'every_ten'"));
    const char *env[] = {"BAOVE_NOW=2020-04-29T11:00:00+07:00", "BAOVE_WORKER_TEST_JOBS=1",
                         "BAOVE_WORKER_POLL_SECONDS=1", NULL};
    struct test_process first, second;
    assert_true(harness_start_worker(&database, env, NULL, &first));
    assert_true(harness_start_worker(&database, env, NULL, &second));
    assert_true(harness_wait_for_log(&first, "\"event\":\"database_ready\"", 2, 20));
    assert_true(harness_wait_for_log(&second, "\"event\":\"database_ready\"", 2, 20));
    sleep_seconds(3); /* three polls each */
    assert_int_equal(harness_stop(&first), 0);
    assert_int_equal(harness_stop(&second), 0);
    assert_sql(&database,
               "SELECT count(*) || ':' || bool_and(status = 'succeeded') FROM jobs "
               "WHERE unique_key = 'every_ten'", "7:true");
}

/* ---- leases ------------------------------------------------------------------- */

static void a_killed_workers_job_is_finished_once_by_another(void **state)
{
    (void)state;
    struct test_database database;
    setup_database("baove_t_worker_lease", &database);
    const char *env[] = {"BAOVE_NOW=" NOW, "BAOVE_WORKER_TEST_JOBS=1",
                         "BAOVE_JOB_LEASE_SECONDS=3", "BAOVE_WORKER_POLL_SECONDS=1", NULL};
    struct test_process doomed, survivor;
    assert_true(harness_start_worker(&database, env, NULL, &doomed));
    assert_true(harness_wait_for_log(&doomed, "\"event\":\"database_ready\"", 2, 20));
    assert_true(harness_wait_for_log(&doomed, "\"event\":\"job_succeeded\"", 2, 20));
    free(sql(&database,
             "SELECT job_enqueue('test_sleep', 'long', '{\"seconds\": 4, \"tag\": \"once\"}', "
             "                   '" NOW "', '" NOW "')"));
    assert_true(harness_wait_for_log(&doomed, "\"kind\":\"test_sleep\"", 1, 20));
    kill(doomed.pid, SIGKILL);
    assert_int_equal(wait_exit(&doomed), -1);
    assert_sql(&database, "SELECT status || ':' || attempts FROM jobs WHERE unique_key = 'long'",
               "running:1");

    assert_true(harness_start_worker(&database, env, NULL, &survivor));
    assert_true(harness_wait_for_log(&survivor, "\"event\":\"job_succeeded\"", 1, 30));
    assert_sql(&database,
               "SELECT status || ':' || attempts || ':' || (lease_expires_at IS NULL) "
               "FROM jobs WHERE unique_key = 'long'", "succeeded:2:true");
    sleep_seconds(2); /* the killed worker's backend finishes its sleep and aborts */
    assert_sql(&database, "SELECT count(*) FROM test_effects WHERE tag = 'once'", "1");

    /* A job longer than the lease on a live worker keeps its lease (renewed
     * every lease/3): a second worker does not take it over. */
    struct test_process other;
    assert_true(harness_start_worker(&database, env, NULL, &other));
    assert_true(harness_wait_for_log(&other, "\"event\":\"database_ready\"", 2, 20));
    free(sql(&database,
             "SELECT job_enqueue('test_sleep', 'longer', '{\"seconds\": 7, \"tag\": \"long\"}',"
             "                   '" NOW "', '" NOW "')"));
    for (int i = 0; i < 150; i++) {
        char *status = sql(&database, "SELECT status FROM jobs WHERE unique_key = 'longer'");
        bool done = strcmp(status, "succeeded") == 0;
        free(status);
        if (done)
            break;
        sleep_seconds(0.1);
    }
    assert_sql(&database,
               "SELECT status || ':' || attempts FROM jobs WHERE unique_key = 'longer'",
               "succeeded:1");
    assert_sql(&database, "SELECT count(*) FROM test_effects WHERE tag = 'long'", "1");
    assert_int_equal(harness_stop(&survivor), 0);
    assert_int_equal(harness_stop(&other), 0);
}

/* ---- housekeeping ------------------------------------------------------------- */

static struct http_response *put_child(const struct test_process *api, const char *token,
                                       const char *id, const char *body)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/children/%s", id);
    return http_call(api, &(struct http_options){.method = "PUT", .path = path,
                                                 .token = token, .body = body});
}

static void pruning_the_change_log_expires_older_cursors(void **state)
{
    (void)state;
    struct test_database database;
    setup_database("baove_t_worker_prune", &database);
    /* A change on 10 January, read by a synchronising client… */
    struct test_process api;
    const char *january[] = {"BAOVE_NOW=2020-01-10T09:00:00+07:00", NULL};
    assert_true(harness_start_api(&database, january, &api));
    char *token = harness_login(&api, "demo_district", "baove-demo");
    struct http_response *response = http_get(&api, "/v1/changes", token); /* an empty snapshot */
    assert_int_equal(response->status, 200);
    assert_int_equal(json_array_size(json_object_get(response->json, "items")), 0);
    char january_cursor[256];
    snprintf(january_cursor, sizeof january_cursor, "/v1/changes?cursor=%s",
             json_text(response->json, "next_cursor", NULL));
    http_free(response);
    response = put_child(
        &api, token, "0b0e3c1a-9a7f-4a52-8a10-6a3f1d2b3c4d",
        "{\"unit\":\"29980\",\"full_name\":\"Nguyễn Văn An\",\"sex\":\"male\","
        "\"date_of_birth\":\"2011-05-04\",\"registered_on\":\"2020-01-10\"}");
    assert_int_equal(response->status, 201);
    http_free(response);
    free(token);
    assert_int_equal(harness_stop(&api), 0);

    /* …and one on 29 April. */
    const char *april[] = {"BAOVE_NOW=" NOW, NULL};
    assert_true(harness_start_api(&database, april, &api));
    token = harness_login(&api, "demo_district", "baove-demo");
    response = put_child(&api, token, "5d1f7a3e-2b4c-4d6e-8f10-1a2b3c4d5e6f",
                         "{\"unit\":\"29983\",\"full_name\":\"Lê Thị Bình\","
                         "\"sex\":\"female\",\"date_of_birth\":\"2014-09-30\","
                         "\"registered_on\":\"2020-02-03\"}");
    assert_int_equal(response->status, 201);
    http_free(response);

    /* The daily prune at 29 April keeps 90 days: January goes, April stays. */
    assert_int_equal(run_once(&database, NOW, NULL), 0);
    assert_sql(&database,
               "SELECT (result->>'deleted') || ' ' || (result->>'cutoff')::timestamptz::date "
               "FROM jobs WHERE kind = 'prune_change_log'", "1 2020-01-30");
    assert_sql(&database, "SELECT count(*) FROM change_log", "1");

    response = http_get(&api, january_cursor, token);
    assert_int_equal(response->status, 410);
    assert_string_equal(json_text(response->json, "type", NULL), "/problems/cursor-expired");
    http_free(response);
    /* A resync from the start: the snapshot has both children, January's
     * too, although its entry was pruned. */
    response = http_get(&api, "/v1/changes", token);
    assert_int_equal(response->status, 200);
    json_t *items = json_object_get(response->json, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(json_text(json_array_get(items, 0), "operation", NULL), "snapshot");
    assert_string_equal(json_text(json_array_get(items, 0), "id", NULL),
                        "0b0e3c1a-9a7f-4a52-8a10-6a3f1d2b3c4d");
    assert_string_equal(json_text(json_array_get(items, 1), "id", NULL),
                        "5d1f7a3e-2b4c-4d6e-8f10-1a2b3c4d5e6f");
    http_free(response);

    /* A shorter retention from the environment prunes April too. */
    assert_int_equal(run_once(&database, "2020-04-30T03:00:00+07:00",
                              (const char *const[]){"BAOVE_CHANGE_LOG_RETENTION=1h", NULL}),
                     0);
    assert_sql(&database, "SELECT count(*) FROM change_log", "0");
    free(token);
    assert_int_equal(harness_stop(&api), 0);
}

/* Polls until no job is waiting or running; returns the most jobs seen
 * running at once (overall, or with unique_key `key`). */
static int most_running_until_done(const struct test_database *database, const char *key)
{
    char query[256];
    snprintf(query, sizeof query,
             "SELECT count(*) FILTER (WHERE status = 'running' AND "
             "                        ('%s' = '' OR unique_key = '%s')) || ' ' || "
             "       count(*) FILTER (WHERE status IN ('queued', 'running', 'failed')) "
             "  FROM jobs", key, key);
    int most = 0;
    for (int i = 0; i < 300; i++) {
        char *value = sql(database, query);
        int running = 0, pending = 0;
        sscanf(value, "%d %d", &running, &pending);
        free(value);
        if (running > most)
            most = running;
        if (pending == 0)
            return most;
        sleep_seconds(0.05);
    }
    fail_msg("jobs still pending after 15 s");
    return -1;
}

static void executors_run_jobs_side_by_side_but_never_one_key_twice(void **state)
{
    (void)state;
    struct test_database database;
    setup_database("baove_t_worker_concurrency", &database);
    const char *env[] = {"BAOVE_NOW=" NOW, "BAOVE_WORKER_TEST_JOBS=1",
                         "BAOVE_WORKER_CONCURRENCY=2", NULL};
    struct test_process worker;
    assert_true(harness_start_worker(&database, env, NULL, &worker));
    assert_true(harness_wait_for_log(&worker, "\"event\":\"job_succeeded\"", 2, 20));
    /* Two jobs with different keys: two executors run them at once. */
    free(sql(&database,
             "SELECT job_enqueue('test_sleep', k, '{\"seconds\": 2, \"tag\": \"pair\"}', "
             "                   '" NOW "', '" NOW "') FROM unnest(ARRAY['a', 'b']) k"));
    assert_int_equal(most_running_until_done(&database, ""), 2);
    /* The same key again while it runs: queued beside it, but it waits. */
    free(sql(&database,
             "SELECT job_enqueue('test_sleep', 'same', '{\"seconds\": 2, \"tag\": \"same\"}', "
             "                   '" NOW "', '" NOW "')"));
    for (int i = 0; i < 200; i++) {
        char *status = sql(&database, "SELECT status FROM jobs WHERE unique_key = 'same'");
        bool running = strcmp(status, "running") == 0;
        free(status);
        if (running)
            break;
        sleep_seconds(0.05);
    }
    free(sql(&database,
             "SELECT job_enqueue('test_sleep', 'same', '{\"seconds\": 1, \"tag\": \"same\"}', "
             "                   '" NOW "', '" NOW "')"));
    assert_int_equal(most_running_until_done(&database, "same"), 1);
    assert_sql(&database,
               "SELECT count(*) || ':' || bool_and(status = 'succeeded' AND attempts = 1) "
               "FROM jobs WHERE kind = 'test_sleep'", "4:true");
    assert_sql(&database, "SELECT count(*) FROM test_effects", "4");
    assert_int_equal(harness_stop(&worker), 0);
}

/* ---- stopping, restarts, wake-ups --------------------------------------------- */

static void sigterm_releases_a_job_that_outlasts_the_grace(void **state)
{
    (void)state;
    struct test_database database;
    setup_database("baove_t_worker_stop", &database);
    const char *env[] = {"BAOVE_NOW=" NOW, "BAOVE_WORKER_TEST_JOBS=1",
                         "BAOVE_WORKER_STOP_GRACE_SECONDS=1", NULL};
    struct test_process worker;
    assert_true(harness_start_worker(&database, env, NULL, &worker));
    assert_true(harness_wait_for_log(&worker, "\"event\":\"job_succeeded\"", 2, 20));
    free(sql(&database,
             "SELECT job_enqueue('test_sleep', 'slow', '{\"seconds\": 60, \"tag\": \"slow\"}', "
             "                   '" NOW "', '" NOW "')"));
    assert_true(harness_wait_for_log(&worker, "\"kind\":\"test_sleep\"", 1, 20));
    assert_int_equal(harness_stop(&worker), 0); /* well before the 60 s */
    assert_true(harness_wait_for_log(&worker, "\"event\":\"job_released\"", 1, 1));
    assert_sql(&database,
               "SELECT status || ':' || attempts || ':' || (lease_expires_at IS NULL) "
               "FROM jobs WHERE unique_key = 'slow'", "queued:0:true");
    assert_sql(&database, "SELECT count(*) FROM test_effects", "0");

    /* A job that ends within the grace finishes before the worker exits. */
    free(sql(&database, "UPDATE jobs SET payload = '{\"seconds\": 1, \"tag\": \"slow\"}' "
                        "WHERE unique_key = 'slow'"));
    const char *patient[] = {"BAOVE_NOW=" NOW, "BAOVE_WORKER_TEST_JOBS=1",
                             "BAOVE_WORKER_STOP_GRACE_SECONDS=30", NULL};
    assert_true(harness_start_worker(&database, patient, NULL, &worker));
    assert_true(harness_wait_for_log(&worker, "\"kind\":\"test_sleep\"", 1, 20));
    assert_int_equal(harness_stop(&worker), 0);
    assert_sql(&database,
               "SELECT status || ':' || attempts FROM jobs WHERE unique_key = 'slow'",
               "succeeded:1");
    assert_sql(&database, "SELECT count(*) FROM test_effects WHERE tag = 'slow'", "1");
}

static void the_worker_carries_on_after_a_database_restart(void **state)
{
    (void)state;
    struct test_database database;
    setup_database("baove_t_worker_restart", &database);
    const char *env[] = {"BAOVE_NOW=" NOW, "BAOVE_WORKER_TEST_JOBS=1",
                         "BAOVE_WORKER_POLL_SECONDS=1", "BAOVE_JOB_RETRY_BASE_SECONDS=0", NULL};
    struct test_process worker;
    assert_true(harness_start_worker(&database, env, NULL, &worker));
    assert_true(harness_wait_for_log(&worker, "\"event\":\"job_succeeded\"", 2, 20));
    assert_true(harness_cluster("stop"));
    assert_true(harness_wait_for_log(&worker, "\"event\":\"database_lost\"", 1, 20));
    assert_true(harness_cluster("start"));
    /* All three connections come back (control, execution and delivery:
     * 3 before + 3 after). */
    assert_true(harness_wait_for_log(&worker, "\"event\":\"database_ready\"", 6, 60));
    free(sql(&database,
             "SELECT job_enqueue('test_sleep', 'after', '{\"tag\": \"after\"}', "
             "                   '" NOW "', '" NOW "')"));
    assert_true(harness_wait_for_log(&worker, "\"event\":\"job_succeeded\"", 3, 20));
    assert_sql(&database, "SELECT status FROM jobs WHERE unique_key = 'after'", "succeeded");

    /* The execution connection dies under a running job: the attempt fails
     * (rolled back by the server), the retry succeeds, the effect is once. */
    free(sql(&database,
             "SELECT job_enqueue('test_sleep', 'cut', '{\"seconds\": 3, \"tag\": \"cut\"}', "
             "                   '" NOW "', '" NOW "')"));
    assert_true(harness_wait_for_log(&worker, "\"kind\":\"test_sleep\"", 3, 20));
    /* As baove_app: a role may end its own sessions. */
    assert_sql_as(database.app_url,
                  "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                  "WHERE application_name = 'baove-worker-job' AND state = 'active'", "1");
    assert_true(harness_wait_for_log(&worker, "\"event\":\"job_failed\"", 1, 20));
    assert_true(harness_wait_for_log(&worker, "\"event\":\"job_succeeded\"", 4, 30));
    assert_sql(&database,
               "SELECT status || ':' || attempts FROM jobs WHERE unique_key = 'cut'",
               "succeeded:2");
    assert_sql(&database, "SELECT count(*) FROM test_effects WHERE tag = 'cut'", "1");
    assert_int_equal(harness_stop(&worker), 0);
}

/* One writing transaction, as far as the worker can tell: a change log entry. */
static void write_change(const struct test_database *database)
{
    free(sql(database, "INSERT INTO change_log (resource_type, resource_id, child_id, unit_id, "
                       "operation, version) SELECT 'children', gen_random_uuid(), "
                       "gen_random_uuid(), min(id), 'create', 1 FROM units"));
}

/* Writers do not wake the worker (a NOTIFY per writing transaction would
 * serialise their commits): the worker sees the change log's position move
 * at its next poll. */
static void changes_wake_the_worker_once_per_burst(void **state)
{
    (void)state;
    struct test_database database;
    setup_database("baove_t_worker_debounce", &database);
    const char *env[] = {"BAOVE_NOW=" NOW, "BAOVE_WORKER_DEBOUNCE_SECONDS=1",
                         "BAOVE_WORKER_POLL_SECONDS=1", "BAOVE_JOB_RETRY_BASE_SECONDS=3600",
                         NULL};
    struct test_process worker;
    assert_true(harness_start_worker(&database, env, NULL, &worker));
    assert_true(harness_wait_for_log(&worker, "\"event\":\"job_succeeded\"", 2, 20));
    assert_sql(&database,
               "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'change_log'::regclass "
               "AND NOT tgisinternal AND tgfoid::regproc::text LIKE '%notify%'", "0");
    /* A burst of five writing transactions. */
    for (int i = 0; i < 5; i++)
        write_change(&database);
    /* One job for the burst, claimed once (whether this build knows the kind
     * or fails it as unknown: a retry would wait up to an hour). */
    assert_true(harness_wait_for_log(&worker, "\"kind\":\"rollup_indicators\"", 2, 20));
    sleep_seconds(1.5);
    assert_sql(&database,
               "SELECT count(*) || ':' || min(unique_key) || ':' || min(attempts) || ':' || "
               "       (min(created_at) = '" NOW "') FROM jobs "
               "WHERE kind = 'rollup_indicators'", "1:rollup_indicators:1:true");
    assert_false(harness_wait_for_log(&worker, "\"kind\":\"rollup_indicators\"", 3, 1));

    /* Spaced: a burst after that job started queues the next one a minute
     * (BAOVE_WORKER_CHANGE_INTERVAL_SECONDS) after its start, and later
     * bursts find it waiting.  The clock is frozen, so it never comes due. */
    for (int burst = 0; burst < 3; burst++) {
        write_change(&database);
        sleep_seconds(2.5); /* a poll and the debounce */
    }
    assert_sql(&database,
               "SELECT string_agg(status || ':' || rfc3339(run_at), ',' ORDER BY run_at) "
               "FROM jobs WHERE kind = 'rollup_indicators'",
               "succeeded:" NOW ",queued:2020-04-29T07:01:00+07:00");
    assert_false(harness_wait_for_log(&worker, "\"kind\":\"rollup_indicators\"", 3, 1));
    /* Asked for sooner (POST /v1/indicators/recompute, a schedule's slot):
     * the waiting job is moved forward, not doubled, and runs. */
    free(sql(&database, "SELECT job_enqueue('rollup_indicators', 'rollup_indicators', '{}', "
                        "'" NOW "', '" NOW "')"));
    assert_true(harness_wait_for_log(&worker, "\"kind\":\"rollup_indicators\"", 4, 20));
    assert_sql(&database,
               "SELECT string_agg(status, ',') FROM jobs WHERE kind = 'rollup_indicators'",
               "succeeded,succeeded");
    /* A rollup that took 30 s (a large registry) keeps the next one 9 x 30 s
     * away from its end (BAOVE_WORKER_CHANGE_BUSY_PERCENT 10), beyond the
     * minute. */
    free(sql(&database, "UPDATE jobs SET started_at = finished_at - interval '2 hours', "
                        "       finished_at = finished_at - interval '1 hour' WHERE kind = 'rollup_indicators' "
                        "  AND id <> (SELECT id FROM jobs WHERE kind = 'rollup_indicators' "
                        "              ORDER BY finished_at DESC, started_at LIMIT 1)"));
    free(sql(&database, "UPDATE jobs SET started_at = finished_at - interval '30 seconds', "
                        "       finished_at = '" NOW "' "
                        "WHERE kind = 'rollup_indicators' AND started_at = '" NOW "'"));
    write_change(&database);
    sleep_seconds(2.5);
    assert_sql(&database,
               "SELECT rfc3339(run_at) FROM jobs "
               "WHERE kind = 'rollup_indicators' AND status = 'queued'",
               "2020-04-29T07:04:30+07:00");
    assert_int_equal(harness_stop(&worker), 0);
}

int main(void)
{
    harness_init("worker");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jobs_retry_with_backoff_then_die_keeping_the_last_error),
        cmocka_unit_test(two_workers_fire_every_schedule_slot_once),
        cmocka_unit_test(a_killed_workers_job_is_finished_once_by_another),
        cmocka_unit_test(executors_run_jobs_side_by_side_but_never_one_key_twice),
        cmocka_unit_test(pruning_the_change_log_expires_older_cursors),
        cmocka_unit_test(sigterm_releases_a_job_that_outlasts_the_grace),
        cmocka_unit_test(the_worker_carries_on_after_a_database_restart),
        cmocka_unit_test(changes_wake_the_worker_once_per_burst),
    };
    int failed = cmocka_run_group_tests_name("worker", tests, NULL, NULL);
    harness_finish();
    return failed;
}
