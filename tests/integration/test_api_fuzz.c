/* The API fuzz test: tests/contract/fuzz.mjs sends requests generated from
 * openapi.yaml (every operation, every role, valid and mutated) to the real
 * baove-api over its own database, and fails on any 5xx, any error that is
 * not application/problem+json, any response that breaks the spec or any
 * connection dropped.  This program gives it the server and checks that the
 * server is still alive afterwards and stops cleanly (under ASan in
 * `make test`: a crash or a leak fails here).
 *
 * The seed is printed; BAOVE_FUZZ_SEED=<n> replays a run (and `random` picks
 * a new one), BAOVE_FUZZ_REQUESTS=<n> stops where that run stopped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"

static void generated_requests_get_answers_the_spec_describes(void **state)
{
    (void)state;
    struct test_database database;
    assert_true(harness_create_database("baove_t_api_fuzz", true, true, &database));
    struct test_process api;
    assert_true(harness_start_api(&database, NULL, &api));

    char base[64], script[1024], records[1024];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", api.port);
    snprintf(script, sizeof script, "%s/fuzz.mjs", harness_env("BAOVE_CONTRACT_TOOLS"));
    snprintf(records, sizeof records, "%s/api_fuzz_requests.jsonl",
             harness_env("BAOVE_CONTRACT_DIR"));
    const char *const argv[] = {"/usr/bin/env", "node", script, harness_env("BAOVE_OPENAPI"),
                                base, records, NULL};
    /* About 5,300 requests; the time bound keeps a slow machine within
     * `make test`'s budget (the run says how many it sent). */
    const char *const env[] = {getenv("BAOVE_FUZZ_SECONDS") ? NULL : "BAOVE_FUZZ_SECONDS=60",
                               NULL};
    char *printed = NULL;
    int status = harness_run(argv, env, NULL, &printed);
    fprintf(stderr, "%s", printed != NULL ? printed : "");
    free(printed);
    assert_int_equal(status, 0);

    /* The server answered everything and is still there; it stops cleanly. */
    assert_int_equal(kill(api.pid, 0), 0);
    assert_int_equal(harness_stop(&api), 0);
}

int main(void)
{
    harness_init("api_fuzz");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(generated_requests_get_answers_the_spec_describes),
    };
    int failed = cmocka_run_group_tests_name("api_fuzz", tests, NULL, NULL);
    harness_finish();
    return failed;
}
