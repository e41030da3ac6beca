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
 *   - Xã Long Khánh's own csc_rate target is the one its indicators, its
 *     report and its summary compare with; the other units take the plan's;
 *   - the report list's ?unit= resolves the unit in each period's tree
 *     (870 for 2020, 82 for 2026);
 *   - since 1/7/2025 the province (82) holds a fund target and gets the
 *     copies of late reminders that went to the district before;
 *   - the daily job gives a plan written by another path (SQL) its
 *     periods, and from 1/12 carries 2026's plan forward as 2027's
 *     (idempotent; an officer's PUT clears the mark);
 *   - the working-day calendar: 2026 computed by default (Tết from the
 *     lunar calendar), 2020 exactly as seeded; a detailed assessment on the
 *     eve of the 2026 break gets its plan deadline after it, by default and
 *     by a stored decision with a make-up Saturday;
 *   - a year that has ended (in Asia/Ho_Chi_Minh) is closed: its plan and
 *     report periods are not written (409), only read. */
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
    "\"reference\":\"12/KH-UBND\",\"unit\":\"82\","
    "\"targets\":[{\"code\":\"csc_rate\",\"comparator\":\"lt\",\"numerator\":5,"
    "\"denominator\":200,\"description\":\"Children in special circumstances below 2.5 %\","
    "\"units\":[{\"unit\":\"29983\",\"numerator\":1,\"denominator\":100}]},"
    "{\"code\":\"csc_supported_rate\",\"comparator\":\"ge\",\"numerator\":95,"
    "\"denominator\":100,\"description\":\"At least 95 % supported\"}],"
    "\"fund_targets\":[{\"unit\":\"82\",\"amount_vnd\":150000000},"
    "{\"unit\":\"29978\",\"amount_vnd\":25000000}]}";

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


static void assert_query(const char *sql, const char *expected)
{
    assert_true(harness_query_equals(&database, sql, expected));
}

/* A row written as the owner, past the API (another path than its own). */
static void insert_one_row(const char *sql)
{
    PGconn *connection = PQconnectdb(database.admin_url);
    assert_int_equal(PQstatus(connection), CONNECTION_OK);
    PGresult *result = PQexec(connection, sql);
    assert_int_equal(PQresultStatus(result), PGRES_COMMAND_OK);
    assert_string_equal(PQcmdTuples(result), "1");
    PQclear(result);
    PQfinish(connection);
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
    if (!harness_create_database_on("baove_t_years", true, true, "2026-04-20T09:00:00+07:00",
                                    &database))
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
/* The 2020 plan's targets and fund targets, as the seed wrote them. */
static void expect_2020_targets_as_seeded(void)
{
    assert_query("SELECT sum(amount_vnd)::text FROM fund_targets WHERE year = 2020",
                 "300000000");
    assert_query("SELECT string_agg(format('%s %s/%s', code, numerator, denominator), ', ' "
                 "ORDER BY code) FROM plan_targets WHERE year = 2020",
                 "csc_rate 3/100, csc_supported_rate 93/100");
}

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
    expect_2020_targets_as_seeded();
}

static void a_year_without_plan_says_so(void **state)
{
    (void)state;
    struct http_response *figures =
        call("GET", "/v1/indicators?unit=82&period=2026", district, NULL, NULL);
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
        "{\"title\":\"\",\"reference\":\"x\",\"unit\":\"82\",\"targets\":["
        "{\"code\":\"csc_rate\",\"comparator\":\"about\",\"numerator\":1,\"denominator\":0,"
        "\"description\":\"d\",\"units\":[{\"unit\":\"29971\",\"denominator\":0}]}],"
        "\"fund_targets\":[{\"unit\":\"82\"}]}",
        NULL);
    assert_int_equal(bad->status, 422);
    const char *body = bad->body;
    assert_non_null(strstr(body, "\"/title\""));
    assert_non_null(strstr(body, "\"/targets/0/comparator\""));
    assert_non_null(strstr(body, "\"/targets/0/denominator\""));
    assert_non_null(strstr(body, "\"/fund_targets/0/amount_vnd\""));
    assert_non_null(strstr(body, "\"/targets/0/units/0/numerator\""));
    assert_non_null(strstr(body, "\"/targets/0/units/0/denominator\""));
    http_free(bad);
    /* Codes are resolved in the database: unknown, twice, not under the plan. */
    struct http_response *units = call(
        "PUT", "/v1/plans/2026", district,
        "{\"title\":\"t\",\"reference\":\"r\",\"unit\":\"82\",\"targets\":["
        "{\"code\":\"csc_rate\",\"comparator\":\"lt\",\"numerator\":1,\"denominator\":50,"
        "\"description\":\"d\",\"units\":[{\"unit\":\"99999\",\"numerator\":1,\"denominator\":9},"
        "{\"unit\":\"29971\",\"numerator\":1,\"denominator\":9},"
        "{\"unit\":\"29971\",\"numerator\":2,\"denominator\":9}]}],"
        "\"fund_targets\":[{\"unit\":\"99999\",\"amount_vnd\":1},"
        "{\"unit\":\"29978\",\"amount_vnd\":1},{\"unit\":\"29978\",\"amount_vnd\":2},"
        "{\"unit\":\"29977\",\"amount_vnd\":1}]}",
        NULL);
    assert_int_equal(units->status, 422);
    assert_non_null(strstr(units->body, "\"/fund_targets/0/unit\""));
    assert_null(strstr(units->body, "\"/fund_targets/1/unit\""));
    assert_non_null(strstr(units->body, "\"/fund_targets/2/unit\""));
    assert_non_null(strstr(units->body, "\"/fund_targets/3/unit\""));
    assert_non_null(strstr(units->body, "\"/targets/0/units/0/unit\""));
    assert_null(strstr(units->body, "\"/targets/0/units/1/unit\""));
    assert_non_null(strstr(units->body, "\"/targets/0/units/2/unit\""));
    http_free(units);
    assert_query("SELECT count(*)::text FROM plans WHERE year = 2026", "0");
}

static void plan_2026_through_the_api(void **state)
{
    (void)state;
    struct http_response *created = call("PUT", "/v1/plans/2026", district, plan_2026, NULL);
    if (created->status != 201)
        fprintf(stderr, "%s\n", created->body);
    assert_int_equal(created->status, 201);
    assert_string_equal(http_header(created, "ETag"), "\"1\"");
    assert_string_equal(http_header(created, "Location"), "/v1/plans/2026");
    json_t *periods = json_object_get(created->json, "report_periods");
    assert_int_equal(json_array_size(periods), 2);
    assert_string_equal(json_text(json_array_get(periods, 0), "key", NULL), "2026S1");
    assert_string_equal(json_text(json_array_get(periods, 0), "due_on", NULL), "2026-05-13");
    assert_string_equal(json_text(json_array_get(periods, 1), "key", NULL), "2026");
    assert_string_equal(json_text(json_array_get(periods, 1), "due_on", NULL), "2026-11-12");
    const json_t *own = json_array_get(
        json_object_get(json_array_get(json_object_get(created->json, "targets"), 0), "units"),
        0);
    assert_string_equal(json_text(own, "unit", NULL), "29983");
    assert_int_equal(json_integer_value(json_object_get(own, "denominator")), 100);
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
    char *cut = strstr(replacement, ",{\"unit\":\"29978\"");
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
    /* The plan's fund targets reach the feed and the fund's audit as
     * PUT /v1/fund/targets would send them: two created, one dropped. */
    assert_query("SELECT string_agg(l.operation || ' ' || u.code || ' ' || "
                 "       coalesce(l.record #>> '{document,amount_vnd}', '-'), ', ' "
                 "       ORDER BY l.transaction_id, u.code) "
                 "  FROM change_log l JOIN units u ON u.id = l.unit_id "
                 " WHERE l.resource_type = 'fund' "
                 "   AND l.resource_id IN (SELECT fund_target_id(2026, id) FROM units)",
                 "create 29978 25000000, create 82 150000000, delete 29978 -");
    assert_query("SELECT string_agg(action || ' ' || outcome, ', ' ORDER BY id) FROM audit_log "
                 "WHERE resource_type = 'fund_targets' AND actor = 'demo_district'",
                 "create success, create success, delete success");
}

/* The worker on 29/4/2026: the rollup queued by the plan, and the first
 * reminder of the 6-month report (−14 days before 13/5). */
static void the_worker_runs_2026(void **state)
{
    (void)state;
    run_worker("2026-04-29T07:30:00+07:00");
    assert_query("SELECT count(*)::text FROM report_reminders "
                 "WHERE period_key = '2026S1' AND offset_days = -14",
                 "5"); /* one per commune of the tree since 1/7/2025 */
    struct http_response *figures =
        call("GET", "/v1/indicators?unit=82&period=2026", district, NULL, NULL);
    if (figures->status != 200)
        fprintf(stderr, "%s\n", figures->body);
    assert_int_equal(figures->status, 200);
    assert_non_null(strstr(figures->body, "\"csc_rate\""));
    http_free(figures);
    struct http_response *half =
        call("GET", "/v1/indicators?unit=29978&period=2026S1", district, NULL, NULL);
    assert_int_equal(half->status, 200);
    http_free(half);
    struct http_response *summary = call("GET", "/v1/reports/2026S1/summary", district, NULL,
                                         NULL);
    assert_int_equal(summary->status, 200);
    http_free(summary);
}

/* The target an item of `items` is compared with, as "comparator n/d" (the
 * caller frees). */
static char *target_of(const json_t *items, const char *code)
{
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *item = json_array_get(items, i);
        if (strcmp(json_text(item, "code", NULL), code) != 0)
            continue;
        const json_t *target = json_object_get(item, "target");
        char text[96];
        snprintf(text, sizeof text, "%s %lld/%lld", json_text(target, "comparator", NULL),
                 (long long)json_integer_value(json_object_get(target, "numerator")),
                 (long long)json_integer_value(json_object_get(target, "denominator")));
        return strdup(text);
    }
    fail_msg("no item %s", code);
    return NULL;
}

static void expect_target(const char *path, const char *code, const char *expected)
{
    struct http_response *response = call("GET", path, district, NULL, NULL);
    if (response->status != 200)
        fprintf(stderr, "%s: %s\n", path, response->body);
    assert_int_equal(response->status, 200);
    char *target = target_of(json_object_get(response->json, "items") != NULL
                                 ? json_object_get(response->json, "items")
                                 : json_object_get(response->json, "indicators"),
                             code);
    assert_string_equal(target, expected);
    free(target);
    http_free(response);
}

/* Xã Long Khánh's own csc_rate target (1/100) in its indicators, its
 * report and the summaries; the other units take the plan's (5/200). */
static void each_unit_against_its_own_target(void **state)
{
    (void)state;
    expect_target("/v1/indicators?unit=29983&period=2026", "csc_rate", "lt 1/100");
    expect_target("/v1/indicators?unit=29971&period=2026", "csc_rate", "lt 5/200");
    expect_target("/v1/indicators?unit=82&period=2026", "csc_rate", "lt 5/200");
    expect_target("/v1/indicators?unit=29983&period=2026", "csc_supported_rate", "ge 95/100");
    static const char report[] =
        "{\"narrative\":{\"results\":\"Tập huấn cộng tác viên.\"},"
        "\"activities\":{\"forum_participants\":12}}";
    struct http_response *draft =
        call("PUT", "/v1/reports/2026S1/29983", commune, report, NULL);
    assert_int_equal(draft->status, 201);
    http_free(draft);
    /* Saved on 20/4; submitted on 4/5, once the cut-off day (30/4) has
     * ended, through an API standing on that day. */
    const char *may[] = {"BAOVE_NOW=2026-05-04T09:00:00+07:00", NULL};
    struct test_process after_cut_off;
    assert_true(harness_start_api(&database, may, &after_cut_off));
    char *token = harness_login(&after_cut_off, "demo_commune", "baove-demo");
    assert_non_null(token);
    const char *headers[] = {"If-Match: \"1\"", NULL};
    struct http_options submit = {.method = "POST", .path = "/v1/reports/2026S1/29983/submit",
                                  .token = token, .headers = headers};
    struct http_response *submitted = http_call(&after_cut_off, &submit);
    free(token);
    assert_int_equal(harness_stop(&after_cut_off), 0);
    assert_int_equal(submitted->status, 200);
    char *frozen = target_of(json_object_get(json_object_get(submitted->json, "indicators"),
                                             "items"), "csc_rate");
    assert_string_equal(frozen, "lt 1/100");
    free(frozen);
    http_free(submitted);
    expect_target("/v1/reports/2026S1/summary?unit=29983", "csc_rate", "lt 1/100");
    expect_target("/v1/reports/2026S1/summary?unit=82", "csc_rate", "lt 5/200");
    assert_query("SELECT plan_unit_target(2026::smallint, 'csc_rate', id) ->> 'scope' "
                 "  FROM units WHERE code = '29983' AND valid_to IS NULL", "unit");
}

/* "period unit, ..." of the reports GET /v1/reports?unit=`code` lists. */
static void expect_reports_under(const char *code, const char *expected)
{
    char path[64], listed[256] = "";
    snprintf(path, sizeof path, "/v1/reports?unit=%s", code);
    struct http_response *response = call("GET", path, district, NULL, NULL);
    assert_int_equal(response->status, 200);
    const json_t *items = json_object_get(response->json, "items");
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *report = json_array_get(items, i);
        size_t used = strlen(listed);
        snprintf(listed + used, sizeof listed - used, "%s%s %s", i > 0 ? ", " : "",
                 json_text(report, "period", NULL), json_text(report, "unit", NULL));
    }
    http_free(response);
    assert_string_equal(listed, expected);
}

/* The list's ?unit= resolves the unit in each period's tree: a 2020 report
 * of Xã Long Khánh A stays under 870 (a district that ended in 2025), the
 * 2026 one of Xã Long Khánh is under 82; the code 29983 is Long Khánh B in
 * 2020 and Long Khánh in 2026. */
static void reports_listed_in_their_periods_tree(void **state)
{
    (void)state;
    insert_one_row("INSERT INTO reports (period_key, unit_id, created_at, updated_at) "
                   "SELECT '2020S1', id, now(), now() FROM units "
                   " WHERE code = '29980' AND valid_from <= '2020-04-30' "
                   "   AND valid_to >= '2020-04-30'");
    expect_reports_under("870", "2020S1 29980");
    expect_reports_under("29980", "2020S1 29980");
    expect_reports_under("82", "2026S1 29983");
    expect_reports_under("29983", "2026S1 29983");
    struct http_response *unknown = call("GET", "/v1/reports?unit=99999", district, NULL, NULL);
    assert_int_equal(unknown->status, 404);
    http_free(unknown);
}

/* Since 1/7/2025 the communes report to the province: its fund target is
 * in its indicators, and a reminder after the due date is copied to its
 * channels (before 1/7/2025, the district's). */
static void the_province_takes_the_districts_place(void **state)
{
    (void)state;
    expect_target("/v1/indicators?unit=82&period=2026", "fund_raised_vnd", "ge 150000000/1");
    struct http_response *channel =
        call("PUT", "/v1/units/82/channels/mail", district,
             "{\"kind\":\"email\",\"address\":\"so-yte@dongthap.gov.vn\"}", NULL);
    assert_int_equal(channel->status, 201);
    http_free(channel);
    channel = call("PUT", "/v1/units/29971/channels/mail", district,
                   "{\"kind\":\"email\",\"address\":\"ubnd@thuongphuoc.gov.vn\"}", NULL);
    assert_int_equal(channel->status, 201);
    http_free(channel);
    /* The day after the 6-month report's due date (offset +1): the four
     * communes that have not submitted (29983 has) are reminded, and each
     * reminder is copied to the province. */
    run_worker("2026-05-14T07:30:00+07:00");
    assert_query("SELECT string_agg(u.code, ' ' ORDER BY u.code) FROM report_reminders r "
                 "  JOIN units u ON u.id = r.unit_id "
                 " WHERE r.period_key = '2026S1' AND r.offset_days = 1",
                 "29971 29978 29992 30154");
    assert_query("SELECT string_agg(split_part(n.dedup_key, ':', 3), ' ' ORDER BY n.dedup_key) "
                 "  FROM notifications n JOIN units u ON u.id = n.unit_id "
                 " WHERE u.code = '82' AND n.kind = 'report.reminder'",
                 "29971 29978 29992 30154");
    assert_query("SELECT count(*)::text FROM notifications n JOIN units u ON u.id = n.unit_id "
                 " WHERE u.code = '29971' AND n.kind = 'report.reminder' "
                 "   AND n.dedup_key LIKE 'report:2026S1:29971:2026-05-13:1:%'",
                 "1");
}

/* A plan written by another path gets its periods from the daily job. */
static void the_daily_job_fills_in_periods(void **state)
{
    (void)state;
    insert_one_row("INSERT INTO plans (year, title, reference, unit_id) "
                   "SELECT 2030, 'Kế hoạch 2030', 'draft', id FROM units WHERE code = '82'");
    run_worker("2026-11-30T01:30:00+07:00");
    assert_query("SELECT string_agg(key || ' ' || due_on, ', ' ORDER BY due_on) "
                 "FROM report_periods WHERE year = 2030",
                 "2030S1 2030-05-13, 2030 2030-11-12");
    /* Before December, next year's plan is not carried forward. */
    assert_query("SELECT count(*)::text FROM plans WHERE year = 2027", "0");
}

/* From 1/12 the yearly job carries the plan forward: 2027 gets 2026's
 * targets (Xã Long Khánh's own included), fund targets and periods, marked
 * as carried forward and audited as the worker; a second run changes
 * nothing; an officer's PUT clears the mark. */
static void next_years_plan_carried_forward(void **state)
{
    (void)state;
    run_worker("2026-12-01T01:30:00+07:00");
    struct http_response *plan = call("GET", "/v1/plans/2027", district, NULL, NULL);
    if (plan->status != 200)
        fprintf(stderr, "%s\n", plan->body);
    assert_int_equal(plan->status, 200);
    assert_int_equal(json_integer_value(json_object_get(plan->json, "carried_forward_from")),
                     2026);
    assert_string_equal(json_text(plan->json, "title", NULL),
                        "Kế hoạch thực hiện Chương trình Bảo vệ trẻ em năm 2027");
    assert_string_equal(json_text(plan->json, "unit", NULL), "82");
    http_free(plan);
    assert_query("SELECT string_agg(format('%s %s %s/%s', t.code, t.comparator, t.numerator, "
                 "       t.denominator), ', ' ORDER BY t.code) FROM plan_targets t "
                 " WHERE t.year = 2027",
                 "csc_rate lt 5/200, csc_supported_rate ge 95/100");
    assert_query("SELECT string_agg(format('%s %s %s/%s', o.code, u.code, o.numerator, "
                 "       o.denominator), ', ') FROM plan_unit_targets o "
                 "  JOIN units u ON u.id = o.unit_id WHERE o.year = 2027",
                 "csc_rate 29983 1/100");
    assert_query("SELECT string_agg(u.code || ' ' || f.amount_vnd, ', ' ORDER BY u.code) "
                 "  FROM fund_targets f JOIN units u ON u.id = f.unit_id WHERE f.year = 2027",
                 "82 150000000");
    assert_query("SELECT string_agg(key || ' ' || due_on, ', ' ORDER BY due_on) "
                 "FROM report_periods WHERE year = 2027",
                 "2027S1 2027-05-13, 2027 2027-11-12");
    run_worker("2026-12-02T01:30:00+07:00");
    assert_query("SELECT version::text FROM plans WHERE year = 2027", "1");
    assert_query("SELECT string_agg(actor || ' ' || role || ' ' || action, ', ') "
                 "  FROM audit_log WHERE resource_type = 'plans' AND actor = 'baove-worker'",
                 "baove-worker system create");
    struct http_response *written = call("PUT", "/v1/plans/2027", district, plan_2026, "\"1\"");
    assert_int_equal(written->status, 200);
    assert_true(json_is_null(json_object_get(written->json, "carried_forward_from")));
    http_free(written);
}

/* ---- closed years ------------------------------------------------------------------ */

static const char closed_detail[] =
    "The %s plan is closed: its year has ended; its reports stand as they were.";

/* A write to a closed year: 409 /problems/conflict naming the year. */
static void expect_closed(const struct test_process *on, const char *token, const char *path,
                          const char *body, const char *if_match, const char *year)
{
    char header[64], detail[128];
    snprintf(header, sizeof header, "If-Match: %s", if_match ? if_match : "");
    const char *headers[] = {if_match ? header : NULL, NULL};
    struct http_options options = {.method = "PUT", .path = path, .token = token,
                                   .body = body, .headers = headers};
    struct http_response *refused = http_call(on, &options);
    if (refused->status != 409)
        fprintf(stderr, "PUT %s: %ld %s\n", path, refused->status, refused->body);
    assert_int_equal(refused->status, 409);
    assert_string_equal(refused->content_type, "application/problem+json");
    assert_string_equal(json_text(refused->json, "type", NULL), "/problems/conflict");
    snprintf(detail, sizeof detail, closed_detail, year);
    assert_string_equal(json_text(refused->json, "detail", NULL), detail);
    http_free(refused);
}

/* 2020's plan as the district could have rewritten it in 2026: other
 * targets and one fund target left (the others would be deleted). */
static const char plan_2020_rewritten[] =
    "{\"title\":\"Kế hoạch 2020 (sửa năm 2026)\",\"reference\":\"10/KH-SLĐTBXH\","
    "\"unit\":\"870\",\"targets\":[{\"code\":\"csc_rate\",\"comparator\":\"lt\","
    "\"numerator\":5,\"denominator\":100,\"description\":\"CSC below 5 %\"}],"
    "\"fund_targets\":[{\"unit\":\"870\",\"amount_vnd\":1}]}";

/* On 20/4/2026 the years up to 2025 are closed: 2020's plan and report
 * periods are not rewritten (with or without their ETag), no plan is
 * created for 2025; they still read as the seed wrote them. */
static void past_years_are_closed(void **state)
{
    (void)state;
    expect_closed(&api, district, "/v1/plans/2020", plan_2020_rewritten, "\"1\"", "2020");
    expect_closed(&api, district, "/v1/plans/2020", plan_2020_rewritten, NULL, "2020");
    expect_closed(&api, district, "/v1/plans/2025", plan_2026, NULL, "2025");
    expect_closed(&api, district, "/v1/report-periods/2020",
                  "{\"covers_from\":\"2020-01-01\",\"covers_to\":\"2020-12-15\","
                  "\"due_on\":\"2020-12-20\"}",
                  "\"1\"", "2020");
    expect_closed(&api, district, "/v1/report-periods/2020S1",
                  "{\"covers_from\":\"2020-01-01\",\"covers_to\":\"2020-06-30\","
                  "\"due_on\":\"2020-07-10\"}",
                  "\"1\"", "2020");
    struct http_response *plan = call("GET", "/v1/plans/2020", district, NULL, NULL);
    assert_int_equal(plan->status, 200);
    assert_string_equal(http_header(plan, "ETag"), "\"1\"");
    http_free(plan);
    expect_2020_targets_as_seeded();
    assert_query("SELECT string_agg(format('%s %s %s v%s', key, covers_to, due_on, version), "
                 "', ' ORDER BY key) FROM report_periods WHERE year = 2020",
                 "2020 2020-10-31 2020-11-12 v1, 2020S1 2020-04-30 2020-05-13 v1");
    assert_query("SELECT count(*)::text FROM plans WHERE year = 2025", "0");
}

/* A year closes when it ends in Asia/Ho_Chi_Minh: on 31/12/2026 at 23:59
 * 2026's periods may still be moved; at 17:30 UTC that day (00:30 on
 * 1/1/2027 there) 2026 is closed, its plan too, while 2027 is open. */
static void a_year_closes_at_its_local_end(void **state)
{
    (void)state;
    const char *last_minute[] = {"BAOVE_NOW=2026-12-31T23:59:00+07:00", NULL};
    const char *new_year[] = {"BAOVE_NOW=2026-12-31T17:30:00Z", NULL};
    struct test_process december, january;
    assert_true(harness_start_api(&database, last_minute, &december));
    assert_true(harness_start_api(&database, new_year, &january));
    char *on_31 = harness_login(&december, "demo_district", "baove-demo");
    char *on_1 = harness_login(&january, "demo_district", "baove-demo");
    assert_non_null(on_31);
    assert_non_null(on_1);
    static const char dates[] = "{\"covers_from\":\"2026-01-01\",\"covers_to\":"
                                "\"2026-10-31\",\"due_on\":\"2026-11-13\"}";
    expect_closed(&january, on_1, "/v1/report-periods/2026", dates, "\"1\"", "2026");
    expect_closed(&january, on_1, "/v1/plans/2026", plan_2026, "\"2\"", "2026");
    const char *headers[] = {"If-Match: \"1\"", NULL};
    struct http_options move = {.method = "PUT", .path = "/v1/report-periods/2026",
                                .token = on_31, .body = dates, .headers = headers};
    struct http_response *moved = http_call(&december, &move);
    assert_int_equal(moved->status, 200);
    assert_string_equal(json_text(moved->json, "due_on", NULL), "2026-11-13");
    http_free(moved);
    move.token = on_1;
    move.path = "/v1/report-periods/2027";
    move.body = "{\"covers_from\":\"2027-01-01\",\"covers_to\":\"2027-10-31\","
                "\"due_on\":\"2027-11-13\"}";
    moved = http_call(&january, &move);
    assert_int_equal(moved->status, 200);
    http_free(moved);
    free(on_31);
    free(on_1);
    assert_int_equal(harness_stop(&december), 0);
    assert_int_equal(harness_stop(&january), 0);
}

/* ---- the working-day calendar ---------------------------------------------------- */

static void calendars_default_and_decided(void **state)
{
    (void)state;
    struct http_response *computed = call("GET", "/v1/calendar/2026", district, NULL, NULL);
    assert_int_equal(computed->status, 200);
    assert_string_equal(json_text(computed->json, "source", NULL), "default");
    assert_non_null(strstr(computed->body, "\"2026-02-16\""));
    assert_non_null(strstr(computed->body, "\"2026-02-20\""));
    assert_null(strstr(computed->body, "\"2026-02-23\""));
    http_free(computed);
    /* 2020 is the seeded decision, exactly. */
    struct http_response *seeded = call("GET", "/v1/calendar/2020", district, NULL, NULL);
    assert_int_equal(seeded->status, 200);
    assert_string_equal(json_text(seeded->json, "source", NULL), "decision");
    json_t *days = json_object_get(seeded->json, "days_off");
    const char *expected[] = {"2020-01-01", "2020-01-23", "2020-01-24", "2020-01-25",
                              "2020-01-26", "2020-01-27", "2020-01-28", "2020-01-29",
                              "2020-04-02", "2020-04-30", "2020-05-01", "2020-09-02"};
    assert_int_equal(json_array_size(days), 12);
    for (size_t i = 0; i < 12; i++)
        assert_string_equal(json_text(json_array_get(days, i), "day", NULL), expected[i]);
    http_free(seeded);
}

/* A case of 2026 up to its detailed assessment on `at`; returns the plan
 * deadline's due_at (caller frees). */
static char *plan_deadline_of_case(const char *child, const char *at)
{
    char body[600], path[96];
    snprintf(path, sizeof path, "/v1/children/%s", child);
    struct http_response *registered = call(
        "PUT", path, commune,
        "{\"unit\":\"29983\",\"full_name\":\"Nguyễn Văn Tết\",\"sex\":\"male\","
        "\"date_of_birth\":\"2015-05-05\",\"registered_on\":\"2026-01-05\"}",
        NULL);
    assert_int_equal(registered->status, 201);
    http_free(registered);
    snprintf(body, sizeof body,
             "{\"child_id\":\"%s\",\"received_at\":\"2026-02-12T08:00:00+07:00\","
             "\"source\":\"hotline_111\",\"concerns\":[\"neglect\"],"
             "\"summary\":\"Trẻ bị bỏ mặc\"}", child);
    struct http_response *created = call("POST", "/v1/cases", commune, body, NULL);
    assert_int_equal(created->status, 201);
    char transitions[96];
    snprintf(transitions, sizeof transitions, "/v1/cases/%s/transitions",
             json_text(created->json, "id", NULL));
    http_free(created);
    struct http_response *initial = call(
        "POST", transitions, commune,
        "{\"to\":\"initial_assessed\",\"at\":\"2026-02-12T10:00:00+07:00\","
        "\"form\":{\"harm_level\":\"medium\",\"serious_risk\":false,"
        "\"immediate_needs\":\"Theo dõi\"}}",
        "\"1\"");
    assert_int_equal(initial->status, 200);
    char version[24];
    snprintf(version, sizeof version, "\"%lld\"",
             (long long)json_integer_value(json_object_get(initial->json, "version")));
    http_free(initial);
    snprintf(body, sizeof body,
             "{\"to\":\"detailed_assessed\",\"at\":\"%s\",\"form\":{\"physical_state\":\"Gầy\","
             "\"psychological_state\":\"Buồn\",\"family_situation\":\"Cha mẹ đi làm xa\","
             "\"protective_capacity\":\"Thấp\",\"needs\":\"Chăm sóc\","
             "\"meeting_on\":\"2026-02-13\"}}", at);
    struct http_response *detailed = call("POST", transitions, commune, body, version);
    assert_int_equal(detailed->status, 200);
    char *due = NULL;
    json_t *deadlines = json_object_get(detailed->json, "deadlines");
    for (size_t i = 0; i < json_array_size(deadlines); i++)
        if (strcmp(json_text(json_array_get(deadlines, i), "kind", NULL), "plan_submission") == 0)
            due = strdup(json_text(json_array_get(deadlines, i), "due_at", NULL));
    http_free(detailed);
    assert_non_null(due);
    return due;
}

/* Friday 13/2/2026, the last working day before Tết (Tuesday 17/2): five
 * working days later is after the break, by default and by a decision. */
static void a_deadline_across_tet_2026(void **state)
{
    (void)state;
    char *due = plan_deadline_of_case("0b8e1d52-3c57-4d2a-9a55-7f6a2b1c2026",
                                      "2026-02-13T10:00:00+07:00");
    assert_string_equal(due, "2026-02-27T23:59:59+07:00");
    free(due);
    /* An illustrative decision: Monday 23/2 off too, Saturday 28/2 worked. */
    const char decision[] =
        "{\"decision\":\"Thông báo nghỉ Tết Bính Ngọ 2026 (illustrative)\","
        "\"days_off\":[{\"day\":\"2026-01-01\",\"name_vi\":\"Tết Dương lịch\","
        "\"name_en\":\"New Year's Day\"},"
        "{\"day\":\"2026-02-16\",\"name_vi\":\"Tết Nguyên đán\",\"name_en\":\"Tết\"},"
        "{\"day\":\"2026-02-17\",\"name_vi\":\"Tết Nguyên đán\",\"name_en\":\"Tết\"},"
        "{\"day\":\"2026-02-18\",\"name_vi\":\"Tết Nguyên đán\",\"name_en\":\"Tết\"},"
        "{\"day\":\"2026-02-19\",\"name_vi\":\"Tết Nguyên đán\",\"name_en\":\"Tết\"},"
        "{\"day\":\"2026-02-20\",\"name_vi\":\"Tết Nguyên đán\",\"name_en\":\"Tết\"},"
        "{\"day\":\"2026-02-23\",\"name_vi\":\"Nghỉ hoán đổi\",\"name_en\":\"Swapped day off\"}],"
        "\"working_days\":[{\"day\":\"2026-02-28\",\"name\":\"Làm bù cho 23/2\"}]}";
    struct http_response *bad = call(
        "PUT", "/v1/calendar/2026", district,
        "{\"decision\":\"x\",\"days_off\":[{\"day\":\"2025-12-31\",\"name_vi\":\"a\","
        "\"name_en\":\"b\"}],\"working_days\":[{\"day\":\"2026-02-27\",\"name\":\"c\"}]}",
        NULL);
    assert_int_equal(bad->status, 422);
    assert_non_null(strstr(bad->body, "\"/days_off/0/day\""));
    assert_non_null(strstr(bad->body, "\"/working_days/0/day\""));
    http_free(bad);
    struct http_response *denied = call("PUT", "/v1/calendar/2026", commune, decision, NULL);
    assert_int_equal(denied->status, 403);
    http_free(denied);
    struct http_response *stored = call("PUT", "/v1/calendar/2026", district, decision, NULL);
    assert_int_equal(stored->status, 200);
    assert_string_equal(json_text(stored->json, "source", NULL), "decision");
    assert_string_equal(http_header(stored, "ETag"), "\"1\"");
    http_free(stored);
    struct http_response *blind = call("PUT", "/v1/calendar/2026", district, decision, NULL);
    assert_int_equal(blind->status, 428);
    http_free(blind);
    due = plan_deadline_of_case("0b8e1d52-3c57-4d2a-9a55-7f6a2b1c2027",
                                "2026-02-13T10:00:00+07:00");
    assert_string_equal(due, "2026-02-28T23:59:59+07:00");
    free(due);
    assert_query("SELECT string_agg(action || ' ' || outcome, ', ' ORDER BY id) FROM audit_log "
                 "WHERE resource_type = 'calendar'",
                 "create success");
}

/* The year of the reorganisation: on 1/12/2024 the district's 2024 plan
 * (here a copy of 2020's) is carried forward as 2025's.  Three of its
 * communes' codes were taken by successors on 1/7/2025; the plan means its
 * own communes, which it holds (the successors are not under 870, and the
 * carry-forward was refused as three "must be 870 or a unit under it"). */
static void the_reorganisation_years_plan_is_carried_forward(void **state)
{
    (void)state;
    assert_query("SELECT plan_put(2024::smallint, plan_document(p)::jsonb, now())::text "
                 "  FROM plans p WHERE p.year = 2020",
                 "[]");
    assert_query("SELECT plan_carry_forward('2024-12-01T01:30:00+07:00')::text",
                 "{\"from\": 2024, \"year\": 2025}");
    assert_query("SELECT count(*) || ' ' || count(*) FILTER (WHERE u.valid_to = '2025-06-30') "
                 "       || ' ' || sum(f.amount_vnd) "
                 "  FROM fund_targets f JOIN units u ON u.id = f.unit_id WHERE f.year = 2025",
                 "11 11 300000000");
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
        cmocka_unit_test(each_unit_against_its_own_target),
        cmocka_unit_test(reports_listed_in_their_periods_tree),
        cmocka_unit_test(the_province_takes_the_districts_place),
        cmocka_unit_test(the_daily_job_fills_in_periods),
        cmocka_unit_test(next_years_plan_carried_forward),
        cmocka_unit_test(calendars_default_and_decided),
        cmocka_unit_test(a_deadline_across_tet_2026),
        cmocka_unit_test(past_years_are_closed),
        cmocka_unit_test(a_year_closes_at_its_local_end),
        cmocka_unit_test(the_reorganisation_years_plan_is_carried_forward),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    harness_finish();
    return failed;
}
