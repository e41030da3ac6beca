/* The contract as the front-end teams use it: tests/contract/client/run.sh
 * generates TypeScript types from openapi.yaml, type-checks the commune
 * worker's day (scenario.mts) under `tsc --strict` and runs it against a
 * live API; every response it receives is recorded (scenario.jsonl) for the
 * contract check.  The same scenario then runs through Prism in proxy mode
 * with --errors, which refuses any request or response that breaks the
 * contract. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"

/* Before the half-year report's due date: the draft can be saved. */
#define NOW "2020-05-05T09:00:00+07:00"

static struct test_database database;
static struct test_process api;

static int setup(void **state)
{
    (void)state;
    if (!harness_create_database_on("baove_t_client", true, true, NOW, &database))
        return -1;
    const char *env[] = {"BAOVE_NOW=" NOW, NULL};
    if (!harness_start_api(&database, env, &api))
        return -1;
    /* The indicators the scenario reads: the worker's fired schedules roll
     * them up (`baove-worker --once` runs every due job and exits). */
    char url[600];
    snprintf(url, sizeof url, "DATABASE_URL=%s", database.app_url);
    const char *argv[] = {harness_env("BAOVE_WORKER_BIN"), "--once", NULL};
    const char *worker_env[] = {url, "BAOVE_NOW=" NOW, NULL};
    return harness_run(argv, worker_env, NULL, NULL) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    harness_stop(&api);
    return 0;
}

/* Runs run.sh with `mode` ("direct" or "prism"); its exit status. */
static int run_client(const char *mode, const char *record)
{
    char url[128], record_env[600], mode_env[64], out[600];
    snprintf(url, sizeof url, "BAOVE_API_URL=http://127.0.0.1:%d", api.port);
    snprintf(record_env, sizeof record_env, "BAOVE_RECORD=%s", record);
    snprintf(mode_env, sizeof mode_env, "BAOVE_CLIENT_MODE=%s", mode);
    snprintf(out, sizeof out, "%s/client-build", harness_env("BAOVE_CONTRACT_DIR"));
    const char *argv[] = {"/bin/bash", harness_env("BAOVE_CLIENT_SCRIPT"), out, NULL};
    const char *env[] = {url, record_env, mode_env, NULL};
    return harness_run(argv, env, NULL, NULL);
}

static void the_commune_workers_day_types_and_runs(void **state)
{
    (void)state;
    char record[600];
    snprintf(record, sizeof record, "%s/scenario.jsonl", harness_env("BAOVE_CONTRACT_DIR"));
    remove(record);
    assert_int_equal(run_client("direct", record), 0);
}

static void through_prism_no_violation(void **state)
{
    (void)state;
    char record[600];
    snprintf(record, sizeof record, "%s/scenario-prism.jsonl", harness_env("BAOVE_CONTRACT_DIR"));
    remove(record);
    assert_int_equal(run_client("prism", record), 0);
}

int main(void)
{
    harness_init("client");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_commune_workers_day_types_and_runs),
        cmocka_unit_test(through_prism_no_violation),
    };
    int failed = cmocka_run_group_tests_name("client", tests, setup, teardown);
    harness_finish();
    return failed;
}
