/* What happens when the database is not there or stuck: readiness follows
 * it, the API and the worker reconnect on their own, pending migrations keep
 * the API not ready, a request stuck on a lock holds up no other.  These tests stop and start the whole test cluster. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* harness_put_child's child is of the 2020 tree (Long Khánh A 29980): the
 * tests that write it stand on a day of that tree. */
#define RESILIENCE_NOW "2020-06-15T09:00:00+07:00"

static long status_of(const struct test_process *api, const char *path, const char *token,
                      const char *expected_type)
{
    struct http_response *response = http_get(api, path, token);
    long status = response->status;
    if (expected_type != NULL)
        assert_string_equal(json_text(response->json, "type", NULL), expected_type);
    http_free(response);
    return status;
}

/* /readyz answers 503 not-ready with exactly this detail. */
static void assert_readyz_detail(const struct test_process *api, const char *detail)
{
    struct http_response *response = http_get(api, "/readyz", NULL);
    assert_int_equal(response->status, 503);
    assert_string_equal(json_text(response->json, "type", NULL), "/problems/not-ready");
    assert_string_equal(json_text(response->json, "detail", NULL), detail);
    http_free(response);
}

static void pending_migrations_mean_not_ready(void **state)
{
    (void)state;
    struct test_database database;
    assert_true(harness_create_database("baove_t_pending", false, false, &database));
    struct test_process api;
    assert_true(harness_start_api(&database, NULL, &api));
    assert_readyz_detail(&api, "The schema is not installed: run baove-admin migrate.");
    assert_int_equal(status_of(&api, "/healthz", NULL, NULL), 200);
    assert_int_equal(harness_admin(&database, (const char *const[]){"migrate", NULL}, NULL, NULL),
                     0);
    assert_int_equal(status_of(&api, "/readyz", NULL, NULL), 200);

    /* Any other failure is named by the server's own words, not guessed. */
    PGconn *owner = PQconnectdb(database.admin_url);
    PQclear(PQexec(owner, "REVOKE SELECT ON schema_migrations FROM baove_app"));
    assert_readyz_detail(&api, "The readiness query failed (SQLSTATE 42501): permission denied "
                               "for table schema_migrations");
    PQclear(PQexec(owner, "GRANT SELECT ON schema_migrations TO baove_app"));
    PQfinish(owner);
    assert_int_equal(status_of(&api, "/readyz", NULL, NULL), 200);
    assert_int_equal(harness_stop(&api), 0);
}

static void the_api_recovers_when_the_database_returns(void **state)
{
    (void)state;
    struct test_database database;
    assert_true(harness_create_database_on("baove_t_outage", true, true, RESILIENCE_NOW,
                                           &database));
    struct test_process api;
    const char *env[] = {"BAOVE_NOW=" RESILIENCE_NOW, NULL};
    assert_true(harness_start_api(&database, env, &api));
    char *token = harness_login(&api, "demo_district", "baove-demo");
    assert_non_null(token);
    assert_int_equal(status_of(&api, "/v1/me", token, NULL), 200);

    assert_true(harness_cluster("stop"));
    assert_int_equal(status_of(&api, "/readyz", NULL, "/problems/not-ready"), 503);
    assert_int_equal(status_of(&api, "/v1/me", token, "/problems/database-unavailable"), 503);
    assert_int_equal(status_of(&api, "/healthz", NULL, NULL), 200);

    assert_true(harness_cluster("start"));
    /* Same process, no restart: every pool thread reconnects by itself. */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(status_of(&api, "/readyz", NULL, NULL), 200);
        assert_int_equal(status_of(&api, "/v1/me", token, NULL), 200);
    }
    free(token);
    assert_int_equal(harness_stop(&api), 0);
}

/* ---- a request waiting on a lock ------------------------------------------ */

#define HELD_CHILD "3e0c9f4a-2b1d-4c5e-8f70-a1b2c3d4e5f6"

struct waiting_patch {
    const struct test_process *api;
    const char *token;
    long status;
};

static void *patch_held_child(void *context)
{
    struct waiting_patch *patch = context;
    struct http_options options = {
        .method = "PATCH", .path = "/v1/children/" HELD_CHILD, .token = patch->token,
        .content_type = "application/merge-patch+json", .body = "{\"hamlet\":\"Ấp 2\"}",
        .headers = (const char *const[]){"If-Match: \"1\"", NULL}};
    struct http_response *response = http_call(patch->api, &options);
    patch->status = response->status;
    http_free(response);
    return NULL;
}

/* Sessions waiting for a lock, until there are `count` (a condition, not a
 * duration; gives up after 30 s). */
static void wait_for_lock_waiters(PGconn *observer, int count)
{
    for (int tries = 0; tries < 3000; tries++) {
        PGresult *result =
            PQexec(observer, "SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted");
        int waiting = PQresultStatus(result) == PGRES_TUPLES_OK ? atoi(PQgetvalue(result, 0, 0))
                                                                 : -1;
        PQclear(result);
        if (waiting >= count)
            return;
        usleep(10000);
    }
    fail_msg("fewer than %d sessions ever waited on a lock", count);
}

/* Every HTTP connection has its own thread and database connections come
 * from a pool: a request stuck on a row lock holds up nobody else; when
 * every pooled connection is stuck, others get 503 with Retry-After once
 * BAOVE_DB_WAIT_MS has passed, and everything works again once the lock
 * goes. */
static void a_request_waiting_on_a_lock_holds_up_no_one_else(void **state)
{
    (void)state;
    struct test_database database;
    assert_true(harness_create_database_on("baove_t_pool", true, true, RESILIENCE_NOW,
                                           &database));
    struct test_process api;
    const char *env[] = {"BAOVE_DB_CONNECTIONS=2", "BAOVE_DB_WAIT_MS=300",
                         "BAOVE_NOW=" RESILIENCE_NOW, NULL};
    assert_true(harness_start_api(&database, env, &api));
    char *token = harness_login(&api, "demo_district", "baove-demo");
    assert_non_null(token);
    assert_int_equal(harness_put_child(&api, token, HELD_CHILD), 201);

    PGconn *holder = PQconnectdb(database.admin_url);
    PGconn *observer = PQconnectdb(database.admin_url);
    assert_int_equal(PQstatus(holder), CONNECTION_OK);
    assert_int_equal(PQstatus(observer), CONNECTION_OK);
    PQclear(PQexec(holder, "BEGIN"));
    PGresult *locked =
        PQexec(holder, "SELECT 1 FROM children WHERE id = '" HELD_CHILD "' FOR UPDATE");
    assert_int_equal(PQresultStatus(locked), PGRES_TUPLES_OK);
    PQclear(locked);

    struct waiting_patch patches[2] = {{&api, token, 0}, {&api, token, 0}};
    pthread_t threads[2];
    assert_int_equal(pthread_create(&threads[0], NULL, patch_held_child, &patches[0]), 0);
    wait_for_lock_waiters(observer, 1);
    /* One pooled connection waits on the lock: the other serves. */
    assert_int_equal(status_of(&api, "/v1/me", token, NULL), 200);
    assert_int_equal(pthread_create(&threads[1], NULL, patch_held_child, &patches[1]), 0);
    wait_for_lock_waiters(observer, 2);
    /* Both wait: a third request gets 503 after BAOVE_DB_WAIT_MS. */
    struct http_response *busy = http_get(&api, "/v1/me", token);
    assert_int_equal(busy->status, 503);
    assert_string_equal(json_text(busy->json, "type", NULL), "/problems/database-unavailable");
    assert_string_equal(http_header(busy, "Retry-After"), "1");
    http_free(busy);

    PQclear(PQexec(holder, "COMMIT"));
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    /* The first writer wins; the second carried the same If-Match. */
    assert_int_equal(patches[0].status + patches[1].status, 200 + 412);
    assert_int_equal(status_of(&api, "/v1/me", token, NULL), 200);
    PQfinish(holder);
    PQfinish(observer);
    free(token);
    assert_int_equal(harness_stop(&api), 0);
}

/* ---- PostgreSQL killed under write load ------------------------------------ */

#define CRASH_WRITERS 4
#define CRASH_MAX_WRITES 4096

/* What the writers share with the test, under `lock`. */
struct crash_load {
    const struct test_process *api;
    const char *token;
    pthread_mutex_t lock;
    bool stop;
    char acknowledged[CRASH_MAX_WRITES][37]; /* ids answered 2xx */
    int acknowledged_count;
    int unavailable_count;    /* 503 database-unavailable or outcome-unknown */
    int acknowledged_after_restart;
    bool restarted;
    char failure[512];        /* the first answer that is neither */
};

struct crash_writer {
    struct crash_load *load;
    int number;
};

static bool crash_load_stopped(struct crash_load *load)
{
    pthread_mutex_lock(&load->lock);
    bool stop = load->stop || load->acknowledged_count >= CRASH_MAX_WRITES;
    pthread_mutex_unlock(&load->lock);
    return stop;
}

/* Creates children with ids of its own, one after the other, and records
 * what each answer means. */
static void *write_children(void *context)
{
    struct crash_writer *writer = context;
    struct crash_load *load = writer->load;
    for (int sequence = 1; !crash_load_stopped(load); sequence++) {
        char id[37];
        snprintf(id, sizeof id, "%08x-0000-4000-8000-%012x", (unsigned)writer->number + 1,
                 (unsigned)sequence);
        struct http_response *response = harness_put_child_response(load->api, load->token, id);
        const char *type = json_text(response->json, "type", NULL);
        pthread_mutex_lock(&load->lock);
        if (response->status >= 200 && response->status < 300) {
            snprintf(load->acknowledged[load->acknowledged_count++], 37, "%s", id);
            load->acknowledged_after_restart += load->restarted;
        } else if (response->status == 503 && type != NULL &&
                   (strcmp(type, "/problems/database-unavailable") == 0 ||
                    strcmp(type, "/problems/outcome-unknown") == 0)) {
            load->unavailable_count++;
        } else if (load->failure[0] == '\0') {
            snprintf(load->failure, sizeof load->failure, "PUT /v1/children/%s: %ld %s", id,
                     response->status, type != NULL ? type : "(no problem type; 0 = no answer)");
        }
        bool unavailable = response->status == 503;
        pthread_mutex_unlock(&load->lock);
        http_free(response);
        if (unavailable)
            usleep(20000); /* a client's pause before it tries again */
    }
    return NULL;
}

/* Waits until `counter` (read under the lock) reaches `count`: a condition,
 * not a duration (gives up after 120 s). */
static void wait_for_count(struct crash_load *load, const int *counter, int count)
{
    for (int tries = 0; tries < 12000; tries++) {
        pthread_mutex_lock(&load->lock);
        bool reached = *counter >= count || load->failure[0] != '\0';
        pthread_mutex_unlock(&load->lock);
        if (reached)
            return;
        usleep(10000);
    }
    fail_msg("the writers never reached %d", count);
}

/* The parent process id of a process, from /proc. */
static pid_t parent_of(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *file = fopen(path, "r");
    int parent = -1;
    char state;
    /* pid (comm) state ppid: comm holds no ')' for PostgreSQL's processes */
    if (file != NULL && fscanf(file, "%*d (%*[^)]) %c %d", &state, &parent) != 2)
        parent = -1;
    if (file != NULL)
        fclose(file);
    return (pid_t)parent;
}

/* Gone for good: not even a zombie, which pg_ctl would still take for a
 * running postmaster (its parent is init, which reaps it soon). */
static bool is_gone(pid_t pid)
{
    return kill(pid, 0) != 0;
}

/* SIGKILL to the postmaster and every process of the cluster at once, as
 * the kernel's OOM killer or a crash would: no shutdown checkpoint, no
 * goodbye to clients.  Returns once they are all gone. */
static void kill_the_cluster(const struct test_database *database)
{
    PGconn *probe = PQconnectdb(database->admin_url);
    assert_int_equal(PQstatus(probe), CONNECTION_OK);
    pid_t postmaster = parent_of(PQbackendPID(probe));
    assert_true(postmaster > 1);
    pid_t members[512];
    size_t count = 0;
    DIR *processes = opendir("/proc");
    assert_non_null(processes);
    for (struct dirent *entry; (entry = readdir(processes)) != NULL && count < 512;) {
        pid_t pid = (pid_t)atoi(entry->d_name);
        if (pid > 0 && parent_of(pid) == postmaster)
            members[count++] = pid;
    }
    closedir(processes);
    assert_int_equal(kill(postmaster, SIGKILL), 0);
    for (size_t i = 0; i < count; i++)
        kill(members[i], SIGKILL);
    PQfinish(probe); /* its backend is gone already */
    for (int tries = 0; tries < 3000 && !is_gone(postmaster); tries++)
        usleep(10000);
    assert_true(is_gone(postmaster));
    for (size_t i = 0; i < count; i++)
        for (int tries = 0; tries < 3000 && !is_gone(members[i]); tries++)
            usleep(10000);
}

/* Every acknowledged write is in the database after a crash, requests during
 * the outage get 503 problems (never a 500 or no answer), and the same API
 * process serves again once PostgreSQL is back. */
static void every_acknowledged_write_survives_a_killed_database(void **state)
{
    (void)state;
    struct test_database database;
    assert_true(harness_create_database("baove_t_crash", true, true, &database));
    struct test_process api;
    assert_true(harness_start_api(&database, NULL, &api));
    char *token = harness_login(&api, "demo_district", "baove-demo");
    assert_non_null(token);

    struct crash_load *load = calloc(1, sizeof *load);
    load->api = &api;
    load->token = token;
    pthread_mutex_init(&load->lock, NULL);
    struct crash_writer writers[CRASH_WRITERS];
    pthread_t threads[CRASH_WRITERS];
    for (int i = 0; i < CRASH_WRITERS; i++) {
        writers[i] = (struct crash_writer){load, i};
        assert_int_equal(pthread_create(&threads[i], NULL, write_children, &writers[i]), 0);
    }
    wait_for_count(load, &load->acknowledged_count, 100);
    kill_the_cluster(&database);
    wait_for_count(load, &load->unavailable_count, 4 * CRASH_WRITERS);
    assert_true(harness_cluster("start"));
    pthread_mutex_lock(&load->lock);
    load->restarted = true;
    pthread_mutex_unlock(&load->lock);
    wait_for_count(load, &load->acknowledged_after_restart, 20 * CRASH_WRITERS);
    pthread_mutex_lock(&load->lock);
    load->stop = true;
    pthread_mutex_unlock(&load->lock);
    for (int i = 0; i < CRASH_WRITERS; i++)
        pthread_join(threads[i], NULL);
    if (load->failure[0] != '\0')
        fail_msg("%s", load->failure);

    /* Every id answered 2xx is there, read with the owner's connection. */
    size_t array_size = (size_t)load->acknowledged_count * 38 + 3;
    char *array = malloc(array_size);
    size_t used = (size_t)snprintf(array, array_size, "{");
    for (int i = 0; i < load->acknowledged_count; i++)
        used += (size_t)snprintf(array + used, array_size - used, "%s%s", i ? "," : "",
                                 load->acknowledged[i]);
    snprintf(array + used, array_size - used, "}");
    PGconn *check = PQconnectdb(database.admin_url);
    assert_int_equal(PQstatus(check), CONNECTION_OK);
    const char *values[] = {array};
    PGresult *found = PQexecParams(check,
                                   "SELECT count(*) FROM children WHERE id = ANY($1::uuid[])",
                                   1, NULL, values, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(found), PGRES_TUPLES_OK);
    assert_int_equal(atoi(PQgetvalue(found, 0, 0)), load->acknowledged_count);
    PQclear(found);
    PQfinish(check);
    free(array);
    /* And through the API that lived through it. */
    char path[80];
    snprintf(path, sizeof path, "/v1/children/%s", load->acknowledged[0]);
    assert_int_equal(status_of(&api, path, token, NULL), 200);
    fprintf(stderr, "crash: %d writes acknowledged (%d after the restart), %d answered 503\n",
            load->acknowledged_count, load->acknowledged_after_restart,
            load->unavailable_count);
    pthread_mutex_destroy(&load->lock);
    free(load);
    free(token);
    assert_int_equal(harness_stop(&api), 0);
}

static void the_worker_reconnects_and_stops_cleanly(void **state)
{
    (void)state;
    struct test_database database;
    assert_true(harness_create_database("baove_t_worker", true, false, &database));
    struct test_process worker;
    assert_true(harness_start_worker(&database, NULL, NULL, &worker));
    assert_true(harness_wait_for_log(&worker, "\"event\":\"database_ready\"", 1, 20));
    assert_true(harness_cluster("stop"));
    assert_true(harness_wait_for_log(&worker, "\"event\":\"database_lost\"", 1, 20));
    assert_true(harness_cluster("start"));
    assert_true(harness_wait_for_log(&worker, "\"event\":\"database_ready\"", 2, 60));
    assert_int_equal(harness_stop(&worker), 0);
    assert_true(harness_wait_for_log(&worker, "\"event\":\"stopped\"", 1, 1));
}

/* `baove-worker --once` from cron must end even when the database never
 * comes: after BAOVE_WORKER_ONCE_DEADLINE_SECONDS it gives up, exit 1. */
static void a_once_run_gives_up_without_a_database(void **state)
{
    (void)state;
    struct test_database database;
    assert_true(harness_create_database("baove_t_once_down", true, false, &database));
    assert_true(harness_cluster("stop"));
    char url[600];
    snprintf(url, sizeof url, "DATABASE_URL=%s", database.app_url);
    const char *const env[] = {url, "BAOVE_WORKER_ONCE_DEADLINE_SECONDS=2", NULL};
    const char *const argv[] = {harness_env("BAOVE_WORKER_BIN"), "--once", NULL};
    int status = harness_run(argv, env, NULL, NULL);
    assert_true(harness_cluster("start"));
    assert_int_equal(status, 1);
}

int main(void)
{
    harness_init("resilience");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pending_migrations_mean_not_ready),
        cmocka_unit_test(the_api_recovers_when_the_database_returns),
        cmocka_unit_test(a_request_waiting_on_a_lock_holds_up_no_one_else),
        cmocka_unit_test(the_worker_reconnects_and_stops_cleanly),
        cmocka_unit_test(a_once_run_gives_up_without_a_database),
        cmocka_unit_test(every_acknowledged_write_survives_a_killed_database),
    };
    int failed = cmocka_run_group_tests_name("resilience", tests, NULL, NULL);
    harness_finish();
    return failed;
}
