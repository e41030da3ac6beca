/* Every year, not only 2020: plan years as data, end to end.  The API
 * stands on 20/4/2026 (BAOVE_NOW), where the seed knows only the plan of
 * 2020 (written by plan_put(), the function behind PUT /v1/plans/{year}):
 *
 *   - the 2020 plan reads back as the seed wrote it, periods included;
 *   - 2026 has no plan: its indicators say so (404 naming PUT /v1/plans);
 *   - a commune officer may not write a plan (403); a bad body is a 422
 *     naming every member, unknown units included;
 *   - a district officer creates plan 2026 (201): its report periods appear
 *     from the rules, due 2026-05-13 and 2026-11-12; replacing it needs
 *     If-Match (428, 412, then 200);
 *   - `baove-worker --once` on 29/4/2026 07:30 computes the 2026
 *     indicators (GET is then 200 with the plan's targets) and sends the
 *     −14 reminder of the 6-month report to the 10 communes;
 *   - the daily job gives a plan written by another path (SQL) its
 *     periods. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct test_database database;
static struct test_process api;
static char *district, *commune;

static const char plan_2026[] =
    "{\"title\":\"Kế hoạch thực hiện Chương trình Bảo vệ trẻ em năm 2026\","
    "\"reference\":\"12/KH-UBND\",\"unit\":\"870\","
    "\"targets\":[{\"code\":\"csc_rate\",\"comparator\":\"lt\",\"numerator\":5,"
    "\"denominator\":200,\"description\":\"Children in special circumstances below 2.5 %\"},"
    "{\"code\":\"csc_supported_rate\",\"comparator\":\"ge\",\"numerator\":95,"
    "\"denominator\":100,\"description\":\"At least 95 % supported\"}],"
    "\"fund_targets\":[{\"unit\":\"870\",\"amount_vnd\":150000000},"
    "{\"unit\":\"29977\",\"amount_vnd\":25000000}]}";

static struct http_response *call(const char *method, const char *path, const char *token,
                                  const char *body, const char *if_match)
{
    char header[64];
    const char *headers[] = {header, NULL};
    snprintf(header, sizeof header, "If-Match: %s", if_match ? if_match : "");
    struct http_options options = {.method = method, .path = path, .token = token,
                                   .body = body, .headers = if_match ? headers : NULL};
    return http_call(&api, &options);
}

/* One text value of an owner's query. */
static char *query_text(const char *sql)
{
    PGconn *connection = PQconnectdb(database.admin_url);
    assert_int_equal(PQstatus(connection), CONNECTION_OK);
    PGresult *result = PQexec(connection, sql);
    assert_int_equal(PQresultStatus(result), PGRES_TUPLES_OK);
    char *text = strdup(PQgetvalue(result, 0, 0));
    PQclear(result);
    PQfinish(connection);
    return text;
}

static void assert_query(const char *sql, const char *expected)
{
    char *text = query_text(sql);
    assert_string_equal(text, expected);
    free(text);
}

static void run_worker(const char *now)
{
    char setting[64];
    snprintf(setting, sizeof setting, "BAOVE_NOW=%s", now);
    const char *env[] = {setting, NULL};
    const char *args[] = {"--once", NULL};
    struct test_process worker;
    assert_true(harness_start_worker(&database, env, args, &worker));
    assert_int_equal(harness_wait_exit(&worker, 120), 0);
}

static int setup(void **state)
{
    (void)state;
    if (!harness_create_database("baove_t_years", true, true, &database))
        return -1;
    const char *env[] = {"BAOVE_NOW=2026-04-20T09:00:00+07:00", NULL};
    if (!harness_start_api(&database, env, &api))
        return -1;
    district = harness_login(&api, "demo_district", "baove-demo");
    commune = harness_login(&api, "demo_commune", "baove-demo");
    return district != NULL && commune != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(district);
    free(commune);
    return harness_stop(&api) == 0 ? 0 : -1;
}

/* The seed wrote 2020 through plan_put: the same figures as before. */
static void plan_2020_is_the_seed(void **state)
{
    (void)state;
    struct http_response *plan = call("GET", "/v1/plans/2020", district, NULL, NULL);
    assert_int_equal(plan->status, 200);
    assert_string_equal(http_header(plan, "ETag"), "\"1\"");
    assert_string_equal(json_text(plan->json, "unit", NULL), "870");
    assert_string_equal(json_text(plan->json, "reference", NULL), "10/KH-SLĐTBXH");
    json_t *targets = json_object_get(plan->json, "targets");
    assert_int_equal(json_array_size(targets), 2);
    assert_string_equal(json_text(json_array_get(targets, 0), "code", NULL), "csc_rate");
    assert_string_equal(json_text(json_array_get(targets, 0), "comparator", NULL), "lt");
    assert_int_equal(json_array_size(json_object_get(plan->json, "fund_targets")), 11);
    json_t *periods = json_object_get(plan->json, "report_periods");
    assert_int_equal(json_array_size(periods), 2);
    assert_string_equal(json_text(json_array_get(periods, 0), "covers_to", NULL), "2020-04-30");
    assert_string_equal(json_text(json_array_get(periods, 0), "due_on", NULL), "2020-05-13");
    assert_string_equal(json_text(json_array_get(periods, 1), "covers_to", NULL), "2020-10-31");
    assert_string_equal(json_text(json_array_get(periods, 1), "due_on", NULL), "2020-11-12");
    http_free(plan);
    assert_query("SELECT sum(amount_vnd)::text FROM fund_targets WHERE year = 2020",
                 "300000000");
    assert_query("SELECT string_agg(format('%s %s/%s', code, numerator, denominator), ', ' "
                 "ORDER BY code) FROM plan_targets WHERE year = 2020",
                 "csc_rate 3/100, csc_supported_rate 93/100");
}

static void a_year_without_plan_says_so(void **state)
{
    (void)state;
    struct http_response *figures =
        call("GET", "/v1/indicators?unit=870&period=2026", district, NULL, NULL);
    assert_int_equal(figures->status, 404);
    assert_non_null(strstr(json_text(figures->json, "detail", NULL), "No plan for 2026"));
    http_free(figures);
    struct http_response *plan = call("GET", "/v1/plans/2026", district, NULL, NULL);
    assert_int_equal(plan->status, 404);
    assert_non_null(strstr(json_text(plan->json, "detail", NULL), "PUT /v1/plans/2026"));
    http_free(plan);
    struct http_response *odd = call("GET", "/v1/plans/1999", district, NULL, NULL);
    assert_int_equal(odd->status, 404);
    http_free(odd);
}

static void only_valid_plans_by_officers(void **state)
{
    (void)state;
    struct http_response *denied = call("PUT", "/v1/plans/2026", commune, plan_2026, NULL);
    assert_int_equal(denied->status, 403);
    http_free(denied);
    struct http_response *bad = call(
        "PUT", "/v1/plans/2026", district,
        "{\"title\":\"\",\"reference\":\"x\",\"unit\":\"870\",\"targets\":["
        "{\"code\":\"csc_rate\",\"comparator\":\"about\",\"numerator\":1,\"denominator\":0,"
        "\"description\":\"d\"}],\"fund_targets\":[{\"unit\":\"870\"}]}",
        NULL);
    assert_int_equal(bad->status, 422);
    const char *body = bad->body;
    assert_non_null(strstr(body, "\"/title\""));
    assert_non_null(strstr(body, "\"/targets/0/comparator\""));
    assert_non_null(strstr(body, "\"/targets/0/denominator\""));
    assert_non_null(strstr(body, "\"/fund_targets/0/amount_vnd\""));
    http_free(bad);
    /* Codes are resolved in the database: unknown, twice, not under the plan. */
    struct http_response *units = call(
        "PUT", "/v1/plans/2026", district,
        "{\"title\":\"t\",\"reference\":\"r\",\"unit\":\"870\",\"targets\":[],"
        "\"fund_targets\":[{\"unit\":\"99999\",\"amount_vnd\":1},"
        "{\"unit\":\"29977\",\"amount_vnd\":1},{\"unit\":\"29977\",\"amount_vnd\":2},"
        "{\"unit\":\"87\",\"amount_vnd\":1}]}",
        NULL);
    assert_int_equal(units->status, 422);
    assert_non_null(strstr(units->body, "\"/fund_targets/0/unit\""));
    assert_null(strstr(units->body, "\"/fund_targets/1/unit\""));
    assert_non_null(strstr(units->body, "\"/fund_targets/2/unit\""));
    assert_non_null(strstr(units->body, "\"/fund_targets/3/unit\""));
    http_free(units);
    assert_query("SELECT count(*)::text FROM plans WHERE year = 2026", "0");
}

static void plan_2026_through_the_api(void **state)
{
    (void)state;
    struct http_response *created = call("PUT", "/v1/plans/2026", district, plan_2026, NULL);
    assert_int_equal(created->status, 201);
    assert_string_equal(http_header(created, "ETag"), "\"1\"");
    assert_string_equal(http_header(created, "Location"), "/v1/plans/2026");
    json_t *periods = json_object_get(created->json, "report_periods");
    assert_int_equal(json_array_size(periods), 2);
    assert_string_equal(json_text(json_array_get(periods, 0), "key", NULL), "2026S1");
    assert_string_equal(json_text(json_array_get(periods, 0), "due_on", NULL), "2026-05-13");
    assert_string_equal(json_text(json_array_get(periods, 1), "key", NULL), "2026");
    assert_string_equal(json_text(json_array_get(periods, 1), "due_on", NULL), "2026-11-12");
    http_free(created);

    struct http_response *listed =
        call("GET", "/v1/report-periods?year=2026", district, NULL, NULL);
    assert_int_equal(listed->status, 200);
    assert_int_equal(json_array_size(json_object_get(listed->json, "items")), 2);
    http_free(listed);

    struct http_response *blind = call("PUT", "/v1/plans/2026", district, plan_2026, NULL);
    assert_int_equal(blind->status, 428);
    http_free(blind);
    struct http_response *stale = call("PUT", "/v1/plans/2026", district, plan_2026, "\"7\"");
    assert_int_equal(stale->status, 412);
    http_free(stale);
    /* Replaced: the commune's fund target goes, the district's changes. */
    char *replacement = strdup(plan_2026);
    char *cut = strstr(replacement, ",{\"unit\":\"29977\"");
    strcpy(cut, "]}");
    struct http_response *updated =
        call("PUT", "/v1/plans/2026", district, replacement, "\"1\"");
    free(replacement);
    assert_int_equal(updated->status, 200);
    assert_string_equal(http_header(updated, "ETag"), "\"2\"");
    assert_null(http_header(updated, "Location"));
    assert_int_equal(json_array_size(json_object_get(updated->json, "fund_targets")), 1);
    http_free(updated);
    /* A plan that does not exist has no version to match. */
    struct http_response *ghost = call("PUT", "/v1/plans/2030", district, plan_2026, "\"1\"");
    assert_int_equal(ghost->status, 412);
    http_free(ghost);
    assert_query("SELECT string_agg(action || ' ' || outcome, ', ' ORDER BY id) FROM audit_log "
                 "WHERE resource_type = 'plans'",
                 "create success, update success");
}

/* The worker on 29/4/2026: the rollup queued by the plan, and the first
 * reminder of the 6-month report (−14 days before 13/5). */
static void the_worker_runs_2026(void **state)
{
    (void)state;
    run_worker("2026-04-29T07:30:00+07:00");
    assert_query("SELECT count(*)::text FROM report_reminders "
                 "WHERE period_key = '2026S1' AND offset_days = -14",
                 "10");
    struct http_response *figures =
        call("GET", "/v1/indicators?unit=870&period=2026", district, NULL, NULL);
    if (figures->status != 200)
        fprintf(stderr, "%s\n", figures->body);
    assert_int_equal(figures->status, 200);
    assert_non_null(strstr(figures->body, "\"csc_rate\""));
    http_free(figures);
    struct http_response *half =
        call("GET", "/v1/indicators?unit=29977&period=2026S1", district, NULL, NULL);
    assert_int_equal(half->status, 200);
    http_free(half);
    struct http_response *summary = call("GET", "/v1/reports/2026S1/summary", district, NULL,
                                         NULL);
    assert_int_equal(summary->status, 200);
    http_free(summary);
}

/* A plan written by another path gets its periods from the daily job. */
static void the_daily_job_fills_in_periods(void **state)
{
    (void)state;
    PGconn *connection = PQconnectdb(database.admin_url);
    assert_int_equal(PQstatus(connection), CONNECTION_OK);
    PGresult *result = PQexec(connection,
                              "INSERT INTO plans (year, title, reference, unit_id) "
                              "SELECT 2027, 'Kế hoạch 2027', 'draft', id FROM units "
                              " WHERE code = '870'");
    assert_int_equal(PQresultStatus(result), PGRES_COMMAND_OK);
    PQclear(result);
    PQfinish(connection);
    run_worker("2026-12-01T01:30:00+07:00");
    assert_query("SELECT string_agg(key || ' ' || due_on, ', ' ORDER BY due_on) "
                 "FROM report_periods WHERE year = 2027",
                 "2027S1 2027-05-13, 2027 2027-11-12");
}

int main(void)
{
    harness_init("years");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plan_2020_is_the_seed),
        cmocka_unit_test(a_year_without_plan_says_so),
        cmocka_unit_test(only_valid_plans_by_officers),
        cmocka_unit_test(plan_2026_through_the_api),
        cmocka_unit_test(the_worker_runs_2026),
        cmocka_unit_test(the_daily_job_fills_in_periods),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    harness_finish();
    return failed;
}
