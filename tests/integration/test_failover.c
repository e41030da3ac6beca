/* Failover without operators: the API and the worker are given a multi-host
 * libpq URL (the test cluster, then a real streaming hot standby of it built
 * with pg_basebackup -R) with target_session_attrs=read-write.  The primary
 * stops, the standby is promoted, and both programs carry on by themselves:
 * every write the API acknowledged is on the new primary, writes continue
 * there, and every job runs to success exactly once.
 *
 * Order: the old primary stops before the standby is promoted.  A clean stop
 * sends the standby all of the primary's WAL, so nothing acknowledged can be
 * lost; after a crash only synchronous replication gives that guarantee
 * (docs/scaling.md: Patroni's synchronous_mode). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "standby.h"

#define NOW "2020-04-29T07:00:00+07:00"
#define WRITES_PER_PHASE 6
#define JOBS 6

static struct test_database database;
static struct test_standby standby_cluster;
static char standby_admin_url[512];

static void sleep_ms(int milliseconds)
{
    struct timespec pause = {milliseconds / 1000, (milliseconds % 1000) * 1000000L};
    nanosleep(&pause, NULL);
}

static void assert_sql(const char *url, const char *query, const char *expected)
{
    char *value = harness_sql(url, query);
    assert_non_null(value);
    assert_string_equal(value, expected);
    free(value);
}

/* The value of `name=` in a pg.sh URL's query string. */
static void url_field(const char *url, const char *name, char *out, size_t size)
{
    char key[32];
    snprintf(key, sizeof key, "%s=", name);
    const char *start = strstr(url, key);
    assert_non_null(start);
    start += strlen(key);
    snprintf(out, size, "%.*s", (int)strcspn(start, "&"), start);
}

/* Both servers in one libpq URL: whichever accepts writes is the one. */
static void multi_host_url(const char *primary, const char *standby, const char *user,
                           char out[512])
{
    char host[2][200], port[2][16];
    url_field(primary, "host", host[0], sizeof host[0]);
    url_field(primary, "port", port[0], sizeof port[0]);
    url_field(standby, "host", host[1], sizeof host[1]);
    url_field(standby, "port", port[1], sizeof port[1]);
    char url[1024];
    snprintf(url, sizeof url,
             "postgresql:///%s?host=%s,%s&port=%s,%s&user=%s&target_session_attrs=read-write",
             database.name, host[0], host[1], port[0], port[1], user);
    assert_true(strlen(url) < 512);
    memcpy(out, url, strlen(url) + 1);
}

static int setup(void **state)
{
    (void)state;
    if (!harness_create_database_on("baove_t_failover", true, true, NOW, &database))
        return -1;
    char *created = harness_sql(database.admin_url, harness_test_job_functions);
    if (created == NULL)
        return -1;
    free(created);
    return standby_build(&standby_cluster, "standby") ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    standby_ctl(&standby_cluster, "destroy", NULL, NULL, 0);
    /* The old primary serves the other tests again. */
    return harness_cluster("start") ? 0 : -1;
}

/* Creates children under fresh ids until `count` were acknowledged (201),
 * retrying through the failover; keeps their ids. */
static void write_children(const struct test_process *api, const char *token, int count,
                           char ids[][40], int *acknowledged)
{
    for (int attempt = 0; attempt < 600 && count > 0; attempt++) {
        char id[40];
        snprintf(id, sizeof id, "5a1e0000-0000-4000-8000-%012d", *acknowledged * 1000 + attempt);
        if (harness_put_child(api, token, id) == 201) {
            snprintf(ids[(*acknowledged)++], 40, "%s", id);
            count--;
        } else {
            sleep_ms(100);
        }
    }
    assert_int_equal(count, 0);
}

static void enqueue_jobs(const char *url, int first, int last)
{
    for (int job = first; job <= last; job++) {
        char query[256];
        snprintf(query, sizeof query,
                 "SELECT job_enqueue('test_sleep', 'failover-%d', "
                 "'{\"seconds\": 0.5, \"tag\": \"job-%d\"}', '" NOW "', '" NOW "')",
                 job, job);
        char *enqueued = harness_sql(url, query);
        assert_non_null(enqueued);
        free(enqueued);
    }
}

static void writes_and_jobs_continue_on_the_promoted_standby(void **state)
{
    (void)state;
    char primary_url[512], standby_app_url[512];
    snprintf(primary_url, sizeof primary_url, "%s", database.app_url);
    assert_true(standby_ctl(&standby_cluster, "url", database.name, standby_app_url,
                            sizeof standby_app_url));
    assert_true(standby_ctl(&standby_cluster, "admin-url", database.name, standby_admin_url,
                            sizeof standby_admin_url));
    assert_sql(standby_admin_url, "SELECT pg_is_in_recovery()", "t");

    struct test_database both = database;
    multi_host_url(primary_url, standby_app_url, "baove_app", both.app_url);
    snprintf(both.api_url, sizeof both.api_url, "%s", both.app_url);
    const char *env[] = {"BAOVE_NOW=" NOW, "BAOVE_WORKER_TEST_JOBS=1",
                         "BAOVE_WORKER_POLL_SECONDS=1", "BAOVE_JOB_RETRY_BASE_SECONDS=0",
                         /* A job cut off with the old primary (its failure could not be
                          * recorded) is taken up again once its lease ends. */
                         "BAOVE_JOB_LEASE_SECONDS=3", NULL};
    struct test_process api, worker;
    assert_true(harness_start_api(&both, env, &api));
    assert_true(harness_start_worker(&both, env, NULL, &worker));
    char *token = harness_login(&api, "demo_commune", "baove-demo");
    assert_non_null(token);

    static char ids[3 * WRITES_PER_PHASE][40];
    int acknowledged = 0;
    enqueue_jobs(database.admin_url, 1, JOBS / 2);
    write_children(&api, token, WRITES_PER_PHASE, ids, &acknowledged);

    /* The primary goes; the standby takes over. */
    assert_true(harness_cluster("stop"));
    assert_true(standby_ctl(&standby_cluster, "promote", NULL, NULL, 0));
    assert_sql(standby_admin_url, "SELECT pg_is_in_recovery()", "f");

    write_children(&api, token, 2 * WRITES_PER_PHASE, ids, &acknowledged);
    enqueue_jobs(standby_admin_url, JOBS / 2 + 1, JOBS);

    /* Every acknowledged write is on the new primary. */
    char query[4096] = "SELECT count(*) FROM children WHERE id IN (";
    for (int index = 0; index < acknowledged; index++) {
        size_t length = strlen(query);
        snprintf(query + length, sizeof query - length, "%s'%s'", index > 0 ? "," : "",
                 ids[index]);
    }
    strncat(query, ")", sizeof query - strlen(query) - 1);
    char expected[16];
    snprintf(expected, sizeof expected, "%d", acknowledged);
    assert_sql(standby_admin_url, query, expected);

    /* Every job succeeds, each effect exactly once. */
    char *succeeded = NULL;
    for (int waited = 0; waited < 600; waited++) {
        free(succeeded);
        succeeded = harness_sql(standby_admin_url,
                                "SELECT count(*) FROM jobs WHERE kind = 'test_sleep' "
                                "AND status = 'succeeded'");
        if (succeeded != NULL && atoi(succeeded) == JOBS)
            break;
        sleep_ms(100);
    }
    assert_non_null(succeeded);
    assert_int_equal(atoi(succeeded), JOBS);
    free(succeeded);
    snprintf(expected, sizeof expected, "%d|%d", JOBS, JOBS);
    assert_sql(standby_admin_url,
               "SELECT count(*) || '|' || count(DISTINCT tag) FROM test_effects", expected);
    assert_true(harness_wait_for_log(&worker, "\"event\":\"database_lost\"", 1, 1));

    free(token);
    assert_int_equal(harness_stop(&worker), 0);
    assert_int_equal(harness_stop(&api), 0);
}

int main(void)
{
    harness_init("failover");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(writes_and_jobs_continue_on_the_promoted_standby),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    harness_finish();
    return failed;
}
