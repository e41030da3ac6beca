/* Indicator rollups on a fixture with hand-computed figures: two communes
 * of Huyện Hồng Ngự (Long Khánh A 29980 and Long Khánh B 29983), their
 * district 870 and province 87, for the periods 2020S1 (ended on "now",
 * 1 July 2020) and 2020 (running: on_track is pro rata), with the cut-offs
 * 2020-04-30 and 2020-10-31 spot-checked.  The data goes in through the API
 * as a commune would enter it; the rollup is the SQL job function, called
 * by the worker (POST /v1/indicators/recompute, then baove-worker --once, and
 * its schedule), or as the worker calls it (baove_app, the worker's "now")
 * for one unit and period.  Then the API:
 * scope, roles, parameters, the series, the recompute job.
 *
 * The fixture (ages at the period end; "S1" = 2020-06-30, "Y" = 2020-12-31,
 * "C1" = cut-off 2020-04-30):
 *   Long Khánh A (29980)
 *     A1 f 2010-03-15  groups d (2019-05-01) and n (2020-02-01): one CSC in
 *                      two groups; support 2020-03-10; case CA3 violence
 *                      received 2020-07-01 08:00, serious risk: emergency
 *                      due 20:00, pending at "now" (09:00).
 *     A2 m 2004-05-20  turns 16 on 2020-05-20: a child at C1 only; group a,
 *                      support 2020-02-01.
 *     A3 f 2015-08-01  group i 2020-01-10..2020-03-31: ended before every
 *                      period end, never CSC; support 2020-03-01.
 *     A4 m 2012-01-10  group b (2020-01-05); its only support 2019-12-20,
 *                      outside every period; case CA1 neglect received
 *                      2019-12-20, still open.
 *     A5 f 2008-09-09  at risk (violence, 2020-02-01); case CA2 exploitation
 *                      received 2020-05-05 (age 11), no serious risk.
 *     A6 m 2011-11-11  group d, support, risk, an abuse case, then deleted:
 *                      counts nowhere.
 *     A7 f 2013-04-04  group c 2020-01-15..2020-09-30 (CSC at C1 and S1, not
 *                      at Y); support 2020-06-15 (in S1, after C1).
 *     A8 m 2018-12-01  registered 2020-03-01.
 *     A9 f 2020-05-10  registered 2020-05-15: not a child of C1.
 *     A10 m 2004-10-10 turns 16 on 2020-10-10; at risk since 2020-03-01.
 *   Long Khánh B (29983)
 *     B1 m 2009-06-06  group l (2020-02-10), support 2020-04-20; case CB1
 *                      sexual_abuse received 2020-02-10 08:00 (age 10),
 *                      emergency measures at 15:00 (met), detailed
 *                      assessment Tue 11 Feb, plan due Tue 18 Feb, submitted
 *                      Mon 17 Feb (on time).
 *     B2 f 2016-02-02  case CB2 violence + neglect received Mon 2 Mar 08:00
 *                      (age 4), emergency measures 3 Mar 09:00 (missed),
 *                      detailed assessment Wed 4 Mar, plan due Wed 11 Mar,
 *                      submitted Fri 13 Mar (late); case CB4 abandonment
 *                      received 2020-06-01: B2 counts once.
 *     B3 m 2007-07-07  case CB3 "other" (not abuse) received 2020-01-15,
 *                      closed as unfounded 2020-01-20.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define NOW "2020-07-01T09:00:00+07:00"

static struct test_database database;
static struct test_process api;
static char *district, *commune, *collaborator, *viewer, *admin;

#define A1 "a1000000-0000-4000-8000-000000000001"
#define A2 "a1000000-0000-4000-8000-000000000002"
#define A3 "a1000000-0000-4000-8000-000000000003"
#define A4 "a1000000-0000-4000-8000-000000000004"
#define A5 "a1000000-0000-4000-8000-000000000005"
#define A6 "a1000000-0000-4000-8000-000000000006"
#define A7 "a1000000-0000-4000-8000-000000000007"
#define A8 "a1000000-0000-4000-8000-000000000008"
#define A9 "a1000000-0000-4000-8000-000000000009"
#define A10 "a1000000-0000-4000-8000-000000000010"
#define B1 "b1000000-0000-4000-8000-000000000001"
#define B2 "b1000000-0000-4000-8000-000000000002"
#define B3 "b1000000-0000-4000-8000-000000000003"

/* ---- entering the fixture through the API ---------------------------------- */

static void expect_status(struct http_response *response, long status, const char *what)
{
    if (response->status != status)
        fail_msg("%s: expected %ld, got %ld: %s", what, status, response->status,
                 response->body);
}

static void put_child(const char *id, const char *unit, const char *sex,
                      const char *date_of_birth, const char *registered_on)
{
    char path[64], body[512];
    snprintf(path, sizeof path, "/v1/children/%s", id);
    snprintf(body, sizeof body,
             "{\"unit\":\"%s\",\"full_name\":\"Trẻ %s\",\"sex\":\"%s\","
             "\"date_of_birth\":\"%s\",\"registered_on\":\"%s\"}",
             unit, id + 33, sex, date_of_birth, registered_on);
    struct http_options options = {.method = "PUT", .path = path, .token = district,
                                   .body = body};
    struct http_response *response = http_call(&api, &options);
    expect_status(response, 201, path);
    http_free(response);
}

static void post_record(const char *child, const char *kind, const char *body)
{
    char path[96];
    snprintf(path, sizeof path, "/v1/children/%s/%s", child, kind);
    struct http_response *response = http_post_json(&api, path, district, body);
    expect_status(response, 201, body);
    http_free(response);
}

static void circumstance(const char *child, const char *group, const char *since,
                         const char *until)
{
    char body[256];
    snprintf(body, sizeof body, "{\"group\":\"%s\",\"since\":\"%s\",\"until\":%s%s%s}", group,
             since, until ? "\"" : "", until ? until : "null", until ? "\"" : "");
    post_record(child, "circumstances", body);
}

static void support(const char *child, const char *provided_on)
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"kind\":\"material_aid\",\"level\":\"support\",\"provider_sector\":\"labour\","
             "\"provided_on\":\"%s\"}", provided_on);
    post_record(child, "supports", body);
}

static void risk(const char *child, const char *since)
{
    char body[128];
    snprintf(body, sizeof body, "{\"category\":\"violence\",\"since\":\"%s\"}", since);
    post_record(child, "risks", body);
}

/* Opens a case; returns its path (static buffer of the caller). */
static void open_case(char path[64], const char *child, const char *received_at,
                      const char *concerns)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"child_id\":\"%s\",\"received_at\":\"%s\",\"source\":\"hotline_111\","
             "\"concerns\":%s,\"summary\":\"Tình huống thử\"}", child, received_at, concerns);
    struct http_response *response = http_post_json(&api, "/v1/cases", district, body);
    expect_status(response, 201, body);
    snprintf(path, 64, "/v1/cases/%s", json_text(response->json, "id", NULL));
    http_free(response);
}

/* One step of a case at its current version. */
static void step(const char *case_path, const char *to, const char *at, const char *form)
{
    struct http_response *current = http_get(&api, case_path, district);
    char if_match[48], path[96], body[1024];
    snprintf(if_match, sizeof if_match, "If-Match: \"%lld\"",
             (long long)json_integer_value(json_object_get(current->json, "version")));
    http_free(current);
    snprintf(path, sizeof path, "%s/transitions", case_path);
    snprintf(body, sizeof body, "{\"to\":\"%s\",\"at\":\"%s\",\"form\":%s}", to, at, form);
    const char *headers[] = {if_match, NULL};
    struct http_options options = {.method = "POST", .path = path, .token = district,
                                   .body = body, .headers = headers};
    struct http_response *response = http_call(&api, &options);
    expect_status(response, 200, body);
    http_free(response);
}

#define SERIOUS "{\"harm_level\":\"high\",\"serious_risk\":true}"
#define NOT_SERIOUS "{\"harm_level\":\"low\",\"serious_risk\":false}"
#define EMERGENCY "{\"measures\":[\"temporary_separation\"],\"taken_by\":\"Chủ tịch UBND xã\"}"
#define DETAILED                                                                            \
    "{\"physical_state\":\"-\",\"psychological_state\":\"-\",\"family_situation\":\"-\","   \
    "\"protective_capacity\":\"-\",\"needs\":\"-\",\"meeting_on\":\"%s\"}"
#define PLAN                                                                                \
    "{\"measures\":[{\"measure\":\"legal_aid\",\"responsible_sector\":\"justice\","        \
    "\"responsible_person\":\"Tư pháp\",\"planned_from\":\"2020-04-01\"}],"                \
    "\"review_on\":\"2020-09-01\"}"

static void enter_cases(void)
{
    char path[64], form[512];
    open_case(path, A4, "2019-12-20T08:00:00+07:00", "[\"neglect\"]");           /* CA1 */
    open_case(path, A5, "2020-05-05T08:00:00+07:00", "[\"exploitation\"]");      /* CA2 */
    step(path, "initial_assessed", "2020-05-05T10:00:00+07:00", NOT_SERIOUS);
    open_case(path, A1, "2020-07-01T08:00:00+07:00", "[\"violence\"]");          /* CA3 */
    step(path, "initial_assessed", "2020-07-01T08:30:00+07:00", SERIOUS);
    open_case(path, A6, "2020-02-20T08:00:00+07:00", "[\"violence\"]");          /* deleted */
    step(path, "initial_assessed", "2020-02-20T09:00:00+07:00", SERIOUS);

    open_case(path, B1, "2020-02-10T08:00:00+07:00", "[\"sexual_abuse\"]");      /* CB1 */
    step(path, "initial_assessed", "2020-02-10T09:00:00+07:00", SERIOUS);
    step(path, "emergency_applied", "2020-02-10T15:00:00+07:00", EMERGENCY);
    snprintf(form, sizeof form, DETAILED, "2020-02-11");
    step(path, "detailed_assessed", "2020-02-11T10:00:00+07:00", form);
    step(path, "plan_submitted", "2020-02-17T10:00:00+07:00", PLAN);
    open_case(path, B2, "2020-03-02T08:00:00+07:00", "[\"violence\",\"neglect\"]"); /* CB2 */
    step(path, "initial_assessed", "2020-03-02T09:00:00+07:00", SERIOUS);
    step(path, "emergency_applied", "2020-03-03T09:00:00+07:00", EMERGENCY);
    snprintf(form, sizeof form, DETAILED, "2020-03-04");
    step(path, "detailed_assessed", "2020-03-04T10:00:00+07:00", form);
    step(path, "plan_submitted", "2020-03-13T10:00:00+07:00", PLAN);
    open_case(path, B3, "2020-01-15T08:00:00+07:00", "[\"other\"]");             /* CB3 */
    step(path, "closed", "2020-01-20T08:00:00+07:00", "{\"reason\":\"unfounded\"}");
    open_case(path, B2, "2020-06-01T08:00:00+07:00", "[\"abandonment\"]");       /* CB4 */
}

/* Fund books: a POST by the district officer; returns the new id in `id`. */
static void fund_post(const char *path, const char *body, const char *idempotency_key,
                      char id[40])
{
    char header[96];
    snprintf(header, sizeof header, "Idempotency-Key: %s", idempotency_key ? idempotency_key : "");
    const char *headers[] = {idempotency_key ? header : NULL, NULL};
    struct http_options options = {.method = "POST", .path = path, .token = district,
                                   .body = body, .headers = headers};
    struct http_response *response = http_call(&api, &options);
    expect_status(response, 201, body);
    if (id != NULL)
        snprintf(id, 40, "%s", json_text(response->json, "id", NULL));
    http_free(response);
}

static void donor_pledge_payment(const char *unit, const char *pledge, const char *pledged_on,
                                 const char *paid, const char *received_on)
{
    char donor[40], body[512];
    snprintf(body, sizeof body,
             "{\"unit\":\"%s\",\"kind\":\"business\",\"name\":\"Nhà tài trợ %s\"}", unit,
             unit);
    fund_post("/v1/fund/donors", body, NULL, donor);
    if (pledge != NULL) {
        snprintf(body, sizeof body,
                 "{\"donor_id\":\"%s\",\"unit\":\"%s\",\"year\":2020,\"amount_vnd\":%s,"
                 "\"pledged_on\":\"%s\"}", donor, unit, pledge, pledged_on);
        fund_post("/v1/fund/pledges", body, NULL, NULL);
    }
    char key[32];
    snprintf(key, sizeof key, "payment-%s", unit);
    snprintf(body, sizeof body,
             "{\"donor_id\":\"%s\",\"unit\":\"%s\",\"amount_vnd\":%s,\"received_on\":\"%s\","
             "\"method\":\"bank_transfer\",\"receipt_no\":\"PT-%s\"}", donor, unit, paid,
             received_on, unit);
    fund_post("/v1/fund/payments", body, key, NULL);
}

static void delete_child(const char *id)
{
    char path[64];
    snprintf(path, sizeof path, "/v1/children/%s", id);
    struct http_response *current = http_get(&api, path, district);
    char if_match[48];
    snprintf(if_match, sizeof if_match, "If-Match: %s", http_header(current, "ETag"));
    http_free(current);
    const char *headers[] = {if_match, NULL};
    struct http_options options = {.method = "DELETE", .path = path, .token = district,
                                   .headers = headers};
    struct http_response *response = http_call(&api, &options);
    expect_status(response, 204, "delete child");
    http_free(response);
}

static void enter_fixture(void)
{
    put_child(A1, "29980", "female", "2010-03-15", "2020-01-02");
    put_child(A2, "29980", "male", "2004-05-20", "2020-01-02");
    put_child(A3, "29980", "female", "2015-08-01", "2020-01-02");
    put_child(A4, "29980", "male", "2012-01-10", "2019-12-01");
    put_child(A5, "29980", "female", "2008-09-09", "2020-01-02");
    put_child(A6, "29980", "male", "2011-11-11", "2020-01-02");
    put_child(A7, "29980", "female", "2013-04-04", "2020-01-02");
    put_child(A8, "29980", "male", "2018-12-01", "2020-03-01");
    put_child(A9, "29980", "female", "2020-05-10", "2020-05-15");
    put_child(A10, "29980", "male", "2004-10-10", "2020-01-02");
    put_child(B1, "29983", "male", "2009-06-06", "2020-01-02");
    put_child(B2, "29983", "female", "2016-02-02", "2020-01-02");
    put_child(B3, "29983", "male", "2007-07-07", "2020-01-02");

    circumstance(A1, "d", "2019-05-01", NULL);
    circumstance(A1, "n", "2020-02-01", NULL);
    circumstance(A2, "a", "2019-01-01", NULL);
    circumstance(A3, "i", "2020-01-10", "2020-03-31");
    circumstance(A4, "b", "2020-01-05", NULL);
    circumstance(A6, "d", "2019-01-01", NULL);
    circumstance(A7, "c", "2020-01-15", "2020-09-30");
    circumstance(B1, "l", "2020-02-10", NULL);
    support(A1, "2020-03-10");
    support(A2, "2020-02-01");
    support(A3, "2020-03-01");
    support(A4, "2019-12-20");
    support(A6, "2020-02-02");
    support(A7, "2020-06-15");
    support(B1, "2020-04-20");
    risk(A5, "2020-02-01");
    risk(A6, "2020-02-01");
    risk(A10, "2020-03-01");
    enter_cases();
    delete_child(A6);
    /* The fund (targets seeded: 20 000 000 per commune, 100 000 000 for the
     * district's own books): Long Khánh A pledged 15 000 000 on 1 March
     * and raised 12 000 000 on 10 May; Long Khánh B raised 25 000 000 on
     * 15 April without a pledge; the district pledged 50 000 000 on
     * 1 February and raised 40 000 000 on 20 June. */
    donor_pledge_payment("29980", "15000000", "2020-03-01", "12000000", "2020-05-10");
    donor_pledge_payment("29983", NULL, NULL, "25000000", "2020-04-15");
    donor_pledge_payment("870", "50000000", "2020-02-01", "40000000", "2020-06-20");
}

/* ---- the rollup, as the worker runs it ------------------------------------------- */

/* Runs rollup_indicators(payload, now) as baove_app in its own transaction;
 * returns the summary's member `field`. */
static long long rollup(const char *payload, const char *now, const char *field)
{
    PGconn *connection = PQconnectdb(database.app_url);
    assert_int_equal(PQstatus(connection), CONNECTION_OK);
    const char *values[] = {payload, now};
    PGresult *result = PQexecParams(connection,
                                    "SELECT rollup_indicators($1::jsonb, $2::timestamptz)", 2,
                                    NULL, values, NULL, NULL, 0);
    if (PQresultStatus(result) != PGRES_TUPLES_OK)
        fail_msg("rollup: %s", PQresultErrorMessage(result));
    json_t *summary = json_loads(PQgetvalue(result, 0, 0), 0, NULL);
    long long value = json_integer_value(json_object_get(summary, field));
    json_decref(summary);
    PQclear(result);
    PQfinish(connection);
    return value;
}

/* Runs `baove-worker --once` with the clock at `now`: it fires the due
 * schedules and runs every due job.  Returns its exit status. */
static int worker_once(const char *now)
{
    char url[600], clock[64];
    snprintf(url, sizeof url, "DATABASE_URL=%s", database.app_url);
    snprintf(clock, sizeof clock, "BAOVE_NOW=%s", now);
    const char *argv[] = {harness_env("BAOVE_WORKER_BIN"), "--once", NULL};
    const char *env[] = {url, clock, NULL};
    return harness_run(argv, env, NULL, NULL);
}

/* The rollup jobs that succeeded, and the summary member `field` of the
 * latest. */
static long long rollup_jobs(const char *field, long long *succeeded)
{
    PGconn *connection = PQconnectdb(database.admin_url);
    const char *values[] = {field};
    PGresult *result = PQexecParams(
        connection,
        "SELECT count(*), (SELECT (result ->> $1)::bigint FROM jobs "
        "                   WHERE kind = 'rollup_indicators' AND status = 'succeeded' "
        "                   ORDER BY finished_at DESC LIMIT 1) "
        "  FROM jobs WHERE kind = 'rollup_indicators' AND status = 'succeeded'",
        1, NULL, values, NULL, NULL, 0);
    if (PQresultStatus(result) != PGRES_TUPLES_OK)
        fail_msg("jobs: %s", PQresultErrorMessage(result));
    *succeeded = atoll(PQgetvalue(result, 0, 0));
    long long value = atoll(PQgetvalue(result, 0, 1));
    PQclear(result);
    PQfinish(connection);
    return value;
}

/* ---- checking snapshots ----------------------------------------------------------- */

static json_t *snapshot(const char *unit, const char *period, const char *token)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/indicators?unit=%s&period=%s", unit, period);
    struct http_response *response = http_get(&api, path, token);
    expect_status(response, 200, path);
    assert_string_equal(json_text(response->json, "unit", NULL), unit);
    assert_string_equal(json_text(response->json, "period", NULL), period);
    json_t *document = json_incref(response->json);
    http_free(response);
    return document;
}

static json_t *item(const json_t *document, const char *code)
{
    json_t *items = json_object_get(document, "items");
    for (size_t i = 0; i < json_array_size(items); i++)
        if (strcmp(json_text(json_array_get(items, i), "code", NULL), code) == 0)
            return json_array_get(items, i);
    fail_msg("no item %s", code);
    return NULL;
}

#define NONE (-1)

/* An integer member, NONE for null. */
static long long member(const json_t *object, const char *name)
{
    const json_t *value = json_object_get(object, name);
    if (json_is_null(value))
        return NONE;
    if (!json_is_integer(value))
        fail_msg("%s is neither an integer nor null", name);
    return json_integer_value(value);
}

static void expect_count(const json_t *document, const char *code, long long count)
{
    const json_t *found = item(document, code);
    if (member(found, "numerator") != count || member(found, "value") != count ||
        member(found, "denominator") != NONE || !json_is_null(json_object_get(found, "status")))
        fail_msg("%s %s of %s: expected %lld, got %s", json_text(document, "unit", NULL),
                 json_text(document, "period", NULL), code, count,
                 json_dumps(found, JSON_COMPACT));
}

/* A rate: numerator / denominator, its per-mille value and status (NULL:
 * no target). */
static void expect_rate(const json_t *document, const char *code, long long numerator,
                        long long denominator, long long per_mille, const char *status)
{
    const json_t *found = item(document, code);
    const char *actual = json_text(found, "status", NULL);
    if (member(found, "numerator") != numerator || member(found, "denominator") != denominator ||
        member(found, "value") != per_mille ||
        (status == NULL ? actual != NULL : actual == NULL || strcmp(actual, status) != 0))
        fail_msg("%s %s of %s: expected %lld/%lld = %lld ‰ %s, got %s",
                 json_text(document, "unit", NULL), json_text(document, "period", NULL), code,
                 numerator, denominator, per_mille, status ? status : "null",
                 json_dumps(found, JSON_COMPACT));
}

/* An amount in đồng, with the status against its target. */
static void expect_vnd(const json_t *document, const char *code, long long amount,
                       const char *status)
{
    const json_t *found = item(document, code);
    const char *actual = json_text(found, "status", NULL);
    if (member(found, "numerator") != amount || member(found, "value") != amount ||
        member(found, "denominator") != NONE ||
        strcmp(json_text(found, "scale", NULL), "vnd") != 0 ||
        (status == NULL ? actual != NULL : actual == NULL || strcmp(actual, status) != 0))
        fail_msg("%s %s of %s: expected %lld %s, got %s", json_text(document, "unit", NULL),
                 json_text(document, "period", NULL), code, amount, status ? status : "null",
                 json_dumps(found, JSON_COMPACT));
}

static long long breakdown(const json_t *document, const char *code, const char *by,
                           const char *key)
{
    return member(json_object_get(json_object_get(item(document, code), "breakdown"), by), key);
}

/* The groups of csc_total: "a=1 b=0 …" for the groups that are not zero. */
static void expect_groups(const json_t *document, const char *expected)
{
    json_t *groups =
        json_object_get(json_object_get(item(document, "csc_total"), "breakdown"), "group");
    assert_int_equal(json_object_size(groups), 14);
    char actual[256] = "";
    const char *keys[] = {"a", "b", "c", "d", "đ", "e", "g", "h", "i", "k", "l", "m", "n", "o"};
    for (size_t i = 0; i < 14; i++) {
        long long count = member(groups, keys[i]);
        if (count != 0) {
            size_t length = strlen(actual);
            snprintf(actual + length, sizeof actual - length, "%s%s=%lld",
                     length ? " " : "", keys[i], count);
        }
    }
    assert_string_equal(actual, expected);
}

/* abused_children's breakdown, as "male female | 0_5 6_10 11_15 | violence
 * sexual_abuse exploitation trafficking neglect abandonment". */
static void expect_abuse(const json_t *document, long long total, const char *expected)
{
    expect_count(document, "abused_children", total);
    char actual[128];
    snprintf(actual, sizeof actual, "%lld %lld | %lld %lld %lld | %lld %lld %lld %lld %lld %lld",
             breakdown(document, "abused_children", "sex", "male"),
             breakdown(document, "abused_children", "sex", "female"),
             breakdown(document, "abused_children", "age_group", "0_5"),
             breakdown(document, "abused_children", "age_group", "6_10"),
             breakdown(document, "abused_children", "age_group", "11_15"),
             breakdown(document, "abused_children", "concern", "violence"),
             breakdown(document, "abused_children", "concern", "sexual_abuse"),
             breakdown(document, "abused_children", "concern", "exploitation"),
             breakdown(document, "abused_children", "concern", "trafficking"),
             breakdown(document, "abused_children", "concern", "neglect"),
             breakdown(document, "abused_children", "concern", "abandonment"));
    assert_string_equal(actual, expected);
}

/* ---- the tests -------------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    if (!harness_create_database_on("baove_t_indicators", true, true, NOW, &database))
        return -1;
    const char *env[] = {"BAOVE_NOW=" NOW, NULL};
    if (!harness_start_api(&database, env, &api))
        return -1;
    district = harness_login(&api, "demo_district", "baove-demo");
    commune = harness_login(&api, "demo_commune", "baove-demo");
    collaborator = harness_login(&api, "demo_collaborator", "baove-demo");
    viewer = harness_login(&api, "demo_viewer", "baove-demo");
    admin = harness_login(&api, "demo_admin", "baove-demo");
    return district && commune && collaborator && viewer && admin ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(district);
    free(commune);
    free(collaborator);
    free(viewer);
    free(admin);
    return harness_stop(&api) == 0 ? 0 : -1;
}

static void before_any_rollup_there_is_no_snapshot(void **state)
{
    (void)state;
    struct http_response *response =
        http_get(&api, "/v1/indicators?unit=870&period=2020S1", district);
    assert_int_equal(response->status, 404);
    assert_string_equal(json_text(response->json, "type", NULL), "/problems/not-found");
    assert_non_null(strstr(json_text(response->json, "detail", NULL), "No indicators have been"));
    http_free(response);
}

static void the_fixture_rolls_up_exactly(void **state)
{
    (void)state;
    enter_fixture();
    /* The district officer asks for a rollup; the worker runs it (and its
     * schedule, due at the first look, finds that job already waiting). */
    struct http_response *queued =
        http_post_json(&api, "/v1/indicators/recompute", district, NULL);
    assert_int_equal(queued->status, 202);
    http_free(queued);
    assert_int_equal(worker_once(NOW), 0);
    long long succeeded = 0;
    /* 4 periods × the 12 units valid in 2020 (province, district, 10
     * communes), all new. */
    assert_int_equal(rollup_jobs("snapshots_written", &succeeded), 48);
    assert_int_equal(succeeded, 1);

    /* ---- 2020S1: ended on 30 June; "now" is 1 July ---- */
    json_t *a = snapshot("29980", "2020S1", district);
    assert_string_equal(json_text(a, "computed_at", NULL), NOW);
    assert_string_equal(json_text(a, "starts_on", NULL), "2020-01-01");
    assert_string_equal(json_text(a, "ends_on", NULL), "2020-06-30");
    assert_int_equal(json_array_size(json_object_get(a, "items")), 17);
    /* A1 A3 A4 A5 A7 A8 A9 A10: A2 is 16, A6 deleted. */
    expect_count(a, "children_total", 8);
    /* A1 (d, n), A4 (b), A7 (c); A3's circumstance ended 31 March. */
    expect_count(a, "csc_total", 3);
    expect_groups(a, "b=1 c=1 d=1 n=1");
    expect_rate(a, "csc_rate", 3, 8, 375, "not_met");
    /* A1 (10 March) and A7 (15 June); A4's only support was in 2019. */
    expect_count(a, "csc_supported", 2);
    expect_rate(a, "csc_supported_rate", 2, 3, 667, "not_met");
    expect_count(a, "at_risk_total", 2);                     /* A5, A10 */
    expect_abuse(a, 1, "0 1 | 0 0 1 | 0 0 1 0 0 0");          /* A5, 11, exploitation */
    expect_count(a, "cases_opened", 1);                      /* CA2 */
    expect_count(a, "cases_closed", 0);
    expect_count(a, "cases_open", 2);                        /* CA1, CA2 */
    expect_count(a, "emergency_cases", 0);
    expect_rate(a, "emergency_deadline_met_rate", 0, 0, NONE, NULL);
    expect_rate(a, "plan_on_time_rate", 0, 0, NONE, NULL);
    /* The fund's target is the year's: at the end of S1 (day 182 of 366)
     * on track means 20 000 000 × 182/366 ≈ 9 945 355 raised. */
    expect_vnd(a, "fund_target_vnd", 20000000, NULL);
    expect_vnd(a, "fund_pledged_vnd", 15000000, NULL);
    expect_vnd(a, "fund_raised_vnd", 12000000, "on_track");
    assert_int_equal(member(json_object_get(item(a, "fund_raised_vnd"), "target"), "numerator"),
                     20000000);
    expect_rate(a, "fund_raised_rate", 12000000, 20000000, 600, "on_track");

    json_t *b = snapshot("29983", "2020S1", district);
    expect_count(b, "children_total", 3);
    expect_count(b, "csc_total", 1);
    expect_groups(b, "l=1");
    expect_rate(b, "csc_rate", 1, 3, 333, "not_met");
    expect_count(b, "csc_supported", 1);
    expect_rate(b, "csc_supported_rate", 1, 1, 1000, "met");
    expect_count(b, "at_risk_total", 0);
    /* B1 (m, 10, sexual_abuse) and B2 (f, 4, violence + neglect, and
     * abandonment from her second case): two children. */
    expect_abuse(b, 2, "1 1 | 1 1 0 | 1 1 0 0 1 1");
    expect_count(b, "cases_opened", 4);                      /* CB1–CB4 */
    expect_count(b, "cases_closed", 1);                      /* CB3 */
    expect_count(b, "cases_open", 3);                        /* CB1, CB2, CB4 */
    expect_count(b, "emergency_cases", 2);                   /* CB1, CB2 */
    expect_rate(b, "emergency_deadline_met_rate", 1, 2, 500, NULL);
    expect_rate(b, "plan_on_time_rate", 1, 2, 500, NULL);
    expect_vnd(b, "fund_pledged_vnd", 0, NULL);
    expect_rate(b, "fund_raised_rate", 25000000, 20000000, 1250, "on_track");

    /* The district: sums of its communes, rates from the sums. */
    json_t *district_s1 = snapshot("870", "2020S1", viewer);
    expect_count(district_s1, "children_total", 11);
    expect_count(district_s1, "csc_total", 4);
    expect_groups(district_s1, "b=1 c=1 d=1 l=1 n=1");
    expect_rate(district_s1, "csc_rate", 4, 11, 364, "not_met");
    expect_count(district_s1, "csc_supported", 3);
    expect_rate(district_s1, "csc_supported_rate", 3, 4, 750, "not_met");
    expect_count(district_s1, "at_risk_total", 2);
    expect_abuse(district_s1, 3, "1 2 | 1 1 1 | 1 1 1 0 1 1");
    expect_count(district_s1, "cases_opened", 5);
    expect_count(district_s1, "cases_closed", 1);
    expect_count(district_s1, "cases_open", 5);
    expect_count(district_s1, "emergency_cases", 2);
    expect_rate(district_s1, "emergency_deadline_met_rate", 1, 2, 500, NULL);
    expect_rate(district_s1, "plan_on_time_rate", 1, 2, 500, NULL);
    /* Its own books and its ten communes': 100 000 000 + 10 × 20 000 000;
     * 77 000 000 raised is short of 300 000 000 × 182/366. */
    expect_vnd(district_s1, "fund_target_vnd", 300000000, NULL);
    expect_vnd(district_s1, "fund_pledged_vnd", 65000000, NULL);
    expect_vnd(district_s1, "fund_raised_vnd", 77000000, "not_met");
    expect_rate(district_s1, "fund_raised_rate", 77000000, 300000000, 257, "not_met");
    /* The province has only this district. */
    json_t *province_s1 = snapshot("87", "2020S1", admin);
    assert_true(json_equal(json_object_get(province_s1, "items"),
                           json_object_get(district_s1, "items")));

    /* ---- 2020: running on 1 July, day 183 of 366: a floor target is on
     * track at half of it (93 % × 183/366 = 46.5 %) ---- */
    json_t *a_year = snapshot("29980", "2020", district);
    /* A10 turned 16 on 10 October. */
    expect_count(a_year, "children_total", 7);
    /* A7's circumstance ends 30 September. */
    expect_count(a_year, "csc_total", 2);
    expect_groups(a_year, "b=1 d=1 n=1");
    expect_rate(a_year, "csc_rate", 2, 7, 286, "not_met");
    expect_count(a_year, "csc_supported", 1);
    expect_rate(a_year, "csc_supported_rate", 1, 2, 500, "on_track");
    expect_count(a_year, "at_risk_total", 1);                /* A5 */
    /* A1 (f, 10, violence, 1 July) joins A5. */
    expect_abuse(a_year, 2, "0 2 | 0 1 1 | 1 0 1 0 0 0");
    expect_count(a_year, "cases_opened", 2);
    expect_count(a_year, "cases_closed", 0);
    expect_count(a_year, "cases_open", 3);
    expect_count(a_year, "emergency_cases", 1);              /* CA3 */
    /* CA3's deadline (20:00 today) is pending: not decided yet. */
    expect_rate(a_year, "emergency_deadline_met_rate", 0, 0, NONE, NULL);

    /* Day 183: 12 000 000 ≥ 20 000 000 × 183/366 = 10 000 000. */
    expect_rate(a_year, "fund_raised_rate", 12000000, 20000000, 600, "on_track");

    json_t *b_year = snapshot("29983", "2020", district);
    expect_count(b_year, "children_total", 3);
    expect_rate(b_year, "csc_rate", 1, 3, 333, "not_met");
    expect_rate(b_year, "csc_supported_rate", 1, 1, 1000, "on_track");
    expect_abuse(b_year, 2, "1 1 | 1 1 0 | 1 1 0 0 1 1");
    expect_count(b_year, "cases_open", 3);

    json_t *district_year = snapshot("870", "2020", district);
    expect_count(district_year, "children_total", 10);
    expect_count(district_year, "csc_total", 3);
    expect_groups(district_year, "b=1 d=1 l=1 n=1");
    expect_rate(district_year, "csc_rate", 3, 10, 300, "not_met");
    expect_count(district_year, "csc_supported", 2);
    expect_rate(district_year, "csc_supported_rate", 2, 3, 667, "on_track");
    expect_count(district_year, "at_risk_total", 1);
    expect_abuse(district_year, 4, "1 3 | 1 2 1 | 2 1 1 0 1 1");
    expect_count(district_year, "cases_opened", 6);
    expect_count(district_year, "cases_closed", 1);
    expect_count(district_year, "cases_open", 6);
    expect_count(district_year, "emergency_cases", 3);
    expect_rate(district_year, "emergency_deadline_met_rate", 1, 2, 500, NULL);
    expect_rate(district_year, "plan_on_time_rate", 1, 2, 500, NULL);
    expect_vnd(district_year, "fund_raised_vnd", 77000000, "not_met");

    /* ---- the report cut-offs ---- */
    json_t *a_cut = snapshot("29980", "2020-04-30", district);
    /* A2 is still 15; A9 not registered yet. */
    expect_count(a_cut, "children_total", 8);
    expect_count(a_cut, "csc_total", 4);
    expect_groups(a_cut, "a=1 b=1 c=1 d=1 n=1");
    /* A1 and A2; A7's support (15 June) comes after the cut-off. */
    expect_rate(a_cut, "csc_supported_rate", 2, 4, 500, "not_met");
    expect_count(a_cut, "at_risk_total", 2);
    expect_abuse(a_cut, 0, "0 0 | 0 0 0 | 0 0 0 0 0 0");
    expect_count(a_cut, "cases_open", 1);                    /* CA1 */
    /* Pledged by 30 April, paid after it. */
    expect_vnd(a_cut, "fund_pledged_vnd", 15000000, NULL);
    expect_vnd(a_cut, "fund_raised_vnd", 0, "not_met");
    json_t *district_cut = snapshot("870", "2020-04-30", district);
    expect_count(district_cut, "children_total", 11);
    expect_abuse(district_cut, 2, "1 1 | 1 1 0 | 1 1 0 0 1 0");
    expect_count(district_cut, "cases_opened", 3);
    expect_count(district_cut, "cases_open", 3);
    expect_vnd(district_cut, "fund_pledged_vnd", 65000000, NULL);
    expect_vnd(district_cut, "fund_raised_vnd", 25000000, "not_met");
    json_t *district_october = snapshot("870", "2020-10-31", district);
    expect_count(district_october, "children_total", 10);   /* A10 is 16 */
    expect_count(district_october, "csc_total", 3);          /* A7's ended 30 September */

    /* A commune with nobody registered: rates have no data. */
    json_t *empty = snapshot("29956", "2020S1", district);
    expect_count(empty, "children_total", 0);
    expect_rate(empty, "csc_rate", 0, 0, NONE, "no_data");
    expect_rate(empty, "csc_supported_rate", 0, 0, NONE, "no_data");
    expect_vnd(empty, "fund_target_vnd", 20000000, NULL);
    expect_rate(empty, "fund_raised_rate", 0, 20000000, 0, "not_met");

    json_t *documents[] = {a, b, district_s1, province_s1, a_year, b_year, district_year,
                           a_cut, district_cut, district_october, empty};
    for (size_t i = 0; i < sizeof documents / sizeof documents[0]; i++)
        json_decref(documents[i]);
}

static void unchanged_figures_write_no_snapshot(void **state)
{
    (void)state;
    /* An hour later the schedule (every 10 minutes) fires: nothing
     * changed, so the snapshots are only confirmed. */
    assert_int_equal(worker_once("2020-07-01T10:00:00+07:00"), 0);
    long long succeeded = 0;
    assert_int_equal(rollup_jobs("snapshots_written", &succeeded), 0);
    assert_int_equal(succeeded, 2);
    assert_int_equal(rollup_jobs("checked", &succeeded), 48);
    json_t *a = snapshot("29980", "2020S1", district);
    assert_string_equal(json_text(a, "computed_at", NULL), NOW);
    assert_string_equal(json_text(a, "checked_at", NULL), "2020-07-01T10:00:00+07:00");
    json_decref(a);
    /* A new support for A4 (1 July) changes 2020 but not 2020S1. */
    support(A4, "2020-07-01");
    assert_int_equal(rollup("{\"unit\":\"29980\",\"period\":\"2020\"}",
                            "2020-07-01T11:00:00+07:00", "snapshots_written"), 1);
    json_t *year = snapshot("29980", "2020", district);
    expect_rate(year, "csc_supported_rate", 2, 2, 1000, "on_track");
    assert_string_equal(json_text(year, "computed_at", NULL), "2020-07-01T11:00:00+07:00");
    assert_string_equal(json_text(year, "checked_at", NULL), "2020-07-01T11:00:00+07:00");
    json_decref(year);
    /* Only that unit and period: the district waits for the next full run,
     * still as the 10:00 run confirmed it. */
    json_t *district_year = snapshot("870", "2020", district);
    expect_rate(district_year, "csc_supported_rate", 2, 3, 667, "on_track");
    assert_string_equal(json_text(district_year, "checked_at", NULL),
                        "2020-07-01T10:00:00+07:00");
    json_decref(district_year);
    /* A run of one unit and period that changes nothing confirms that
     * snapshot only (its own checked_at, not its period's). */
    assert_int_equal(rollup("{\"unit\":\"29980\",\"period\":\"2020S1\"}",
                            "2020-07-01T11:30:00+07:00", "snapshots_written"), 0);
    json_t *a_again = snapshot("29980", "2020S1", district);
    assert_string_equal(json_text(a_again, "computed_at", NULL), NOW);
    assert_string_equal(json_text(a_again, "checked_at", NULL), "2020-07-01T11:30:00+07:00");
    json_decref(a_again);
    json_t *b_again = snapshot("29983", "2020S1", district);
    assert_string_equal(json_text(b_again, "checked_at", NULL), "2020-07-01T10:00:00+07:00");
    json_decref(b_again);
    /* The full run then writes the commune's cut-off of 31 October (the
     * support falls in it too) and both periods of the district and the
     * province, nothing else. */
    assert_int_equal(rollup("{}", "2020-07-01T12:00:00+07:00", "snapshots_written"), 5);

    /* The series of csc_supported_rate for the commune in 2020: two values. */
    struct http_response *series = http_get(
        &api, "/v1/indicators/csc_supported_rate?unit=29980&period=2020", commune);
    assert_int_equal(series->status, 200);
    json_t *items = json_object_get(series->json, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_int_equal(member(json_array_get(items, 0), "numerator"), 1);
    assert_string_equal(json_text(json_array_get(items, 0), "computed_at", NULL), NOW);
    assert_int_equal(member(json_array_get(items, 1), "numerator"), 2);
    assert_string_equal(json_text(json_array_get(items, 1), "period", NULL), "2020");
    http_free(series);
    /* Every period, limited to what was computed from 1 July on: one value
     * for each of the four periods, and the change of 2020 (and of the
     * cut-off of 31 October, which A4's support also falls in). */
    series = http_get(&api, "/v1/indicators/csc_supported_rate?unit=29980&from=2020-07-01"
                            "&to=2020-07-31", commune);
    assert_int_equal(series->status, 200);
    assert_int_equal(json_array_size(json_object_get(series->json, "items")), 4 + 2);
    http_free(series);
    series = http_get(&api, "/v1/indicators/csc_supported_rate?unit=29980&to=2020-06-30",
                      commune);
    assert_int_equal(json_array_size(json_object_get(series->json, "items")), 0);
    http_free(series);
}

static void scope_and_roles(void **state)
{
    (void)state;
    /* The commune officer sees its commune, by default too. */
    struct http_response *response = http_get(&api, "/v1/indicators?period=2020S1", commune);
    assert_int_equal(response->status, 200);
    assert_string_equal(json_text(response->json, "unit", NULL), "29980");
    http_free(response);
    const char *outside[] = {"/v1/indicators?unit=29983&period=2020S1",
                             "/v1/indicators?unit=870&period=2020S1",
                             "/v1/indicators/csc_rate?unit=870",
                             "/v1/indicators?unit=99999&period=2020S1"};
    for (size_t i = 0; i < 4; i++) {
        response = http_get(&api, outside[i], commune);
        assert_int_equal(response->status, 404);
        assert_string_equal(json_text(response->json, "detail", NULL),
                            "No such unit in your scope.");
        http_free(response);
    }
    /* The viewer reads its district, not the province above it. */
    response = http_get(&api, "/v1/indicators?unit=87&period=2020", viewer);
    assert_int_equal(response->status, 404);
    http_free(response);
    /* A collaborator may not read indicators. */
    response = http_get(&api, "/v1/indicators?unit=29980&period=2020", collaborator);
    assert_int_equal(response->status, 403);
    http_free(response);
    /* Unknown period and indicator. */
    response = http_get(&api, "/v1/indicators?unit=870&period=2019", district);
    assert_int_equal(response->status, 404);
    assert_non_null(strstr(json_text(response->json, "detail", NULL), "No plan for 2019"));
    http_free(response);
    response = http_get(&api, "/v1/indicators/happiness?unit=870", district);
    assert_int_equal(response->status, 404);
    http_free(response);
}

static void parameters_are_checked(void **state)
{
    (void)state;
    struct {
        const char *path, *parameter;
    } cases[] = {
        {"/v1/indicators?unit=870", "period"},
        {"/v1/indicators?unit=870&period=2020S2", "period"},
        {"/v1/indicators?unit=870&period=2020-02-30", "period"},
        {"/v1/indicators?unit=ab&period=2020", "unit"},
        {"/v1/indicators/csc_rate?unit=870&from=2020-13-01", "from"},
        {"/v1/indicators/csc_rate?unit=870&from=2020-07-02&to=2020-07-01", "to"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct http_response *response = http_get(&api, cases[i].path, district);
        if (response->status != 400)
            fail_msg("%s: %ld", cases[i].path, response->status);
        assert_string_equal(json_text(response->json, "type", NULL),
                            "/problems/invalid-parameter");
        json_t *errors = json_object_get(response->json, "errors");
        assert_int_equal(json_array_size(errors), 1);
        assert_string_equal(json_text(json_array_get(errors, 0), "parameter", NULL),
                            cases[i].parameter);
        http_free(response);
    }
}

static void recompute_queues_one_job(void **state)
{
    (void)state;
    struct http_response *denied =
        http_post_json(&api, "/v1/indicators/recompute", viewer, NULL);
    assert_int_equal(denied->status, 403);
    http_free(denied);
    denied = http_post_json(&api, "/v1/indicators/recompute", commune, NULL);
    assert_int_equal(denied->status, 403);
    http_free(denied);
    struct http_response *first =
        http_post_json(&api, "/v1/indicators/recompute", district, NULL);
    assert_int_equal(first->status, 202);
    char job_id[40];
    snprintf(job_id, sizeof job_id, "%s", json_text(first->json, "job_id", NULL));
    http_free(first);
    /* Asked again while it waits: the same job. */
    struct http_response *second = http_post_json(&api, "/v1/indicators/recompute", admin, NULL);
    assert_int_equal(second->status, 202);
    assert_string_equal(json_text(second->json, "job_id", NULL), job_id);
    http_free(second);
    PGconn *connection = PQconnectdb(database.admin_url);
    const char *values[] = {job_id};
    PGresult *result = PQexecParams(connection,
                                    "SELECT kind, status, payload::text, rfc3339(run_at) "
                                    "  FROM jobs WHERE id = $1::uuid",
                                    1, NULL, values, NULL, NULL, 0);
    assert_int_equal(PQntuples(result), 1);
    assert_string_equal(PQgetvalue(result, 0, 0), "rollup_indicators");
    assert_string_equal(PQgetvalue(result, 0, 1), "queued");
    assert_string_equal(PQgetvalue(result, 0, 2), "{}");
    assert_string_equal(PQgetvalue(result, 0, 3), NOW);
    PQclear(result);
    PQfinish(connection);
}

/* ---- rollups that writes trigger ------------------------------------------ */

#define LATER "2020-07-01T13:00:00+07:00"
#define A_MINUTE_LATER "2020-07-01T13:01:00+07:00"

static long long children_total(const char *unit)
{
    json_t *document = snapshot(unit, "2020", district);
    long long total = member(item(document, "children_total"), "value");
    json_decref(document);
    return total;
}

/* Waits up to 20 s for the owner's query to give `expected`. */
static bool eventually(const char *query, const char *expected)
{
    for (int tries = 0; tries < 200; tries++) {
        char *value = harness_query_text(&database, query);
        bool equal = value != NULL && strcmp(value, expected) == 0;
        free(value);
        if (equal)
            return true;
        usleep(100000);
    }
    return harness_query_equals(&database, query, expected); /* prints both */
}

#define WAITING_ROLLUPS                                                                    \
    "SELECT count(*) || ' at ' || coalesce(rfc3339(max(run_at)), '-') FROM jobs "         \
    "WHERE kind = 'rollup_indicators' AND status = 'queued'"

/* A running worker rolls up after writes, but no sooner than a minute
 * (BAOVE_WORKER_CHANGE_INTERVAL_SECONDS) after the last rollup started, and
 * a second write rides along with the first: the writers do not pay for a
 * rollup each.  Once it has run, the figures are exactly what a full
 * rollup computes (it finds nothing to write). */
static void writes_roll_up_spaced_and_converge(void **state)
{
    (void)state;
    const char *env[] = {"BAOVE_NOW=" LATER, "BAOVE_WORKER_DEBOUNCE_SECONDS=0",
                         "BAOVE_WORKER_POLL_SECONDS=1", NULL};
    struct test_process worker;
    assert_true(harness_start_worker(&database, env, NULL, &worker));
    /* The recompute queued above (and the schedule's slot, the same job). */
    assert_true(eventually(WAITING_ROLLUPS, "0 at -"));
    assert_true(harness_wait_for_log(&worker, "\"event\":\"job_succeeded\"", 1, 20));
    long long commune_before = children_total("29980"), district_before = children_total("870");

    put_child("c1000000-0000-4000-8000-000000000001", "29980", "female", "2015-01-01",
              "2020-06-01");
    assert_true(eventually(WAITING_ROLLUPS, "1 at " A_MINUTE_LATER));
    put_child("c1000000-0000-4000-8000-000000000002", "29980", "male", "2016-02-02",
              "2020-07-01");
    usleep(2500000); /* the worker's next poll sees it and finds the job waiting */
    assert_true(harness_query_equals(&database, WAITING_ROLLUPS, "1 at " A_MINUTE_LATER));
    assert_int_equal(children_total("29980"), commune_before);
    assert_int_equal(harness_stop(&worker), 0);

    /* A minute on, the waiting job runs: both children, up the tree. */
    assert_int_equal(worker_once(A_MINUTE_LATER), 0);
    assert_true(harness_query_equals(&database, WAITING_ROLLUPS, "0 at -"));
    assert_int_equal(children_total("29980"), commune_before + 2);
    assert_int_equal(children_total("870"), district_before + 2);
    assert_int_equal(rollup("{}", A_MINUTE_LATER, "snapshots_written"), 0);
}

/* The index scans of jobs_kind_started plus jobs_kind_succeeded so far. */
#define KIND_INDEX_SCANS                                                                   \
    "SELECT sum(idx_scan) FROM pg_stat_user_indexes "                                      \
    "WHERE indexrelname IN ('jobs_kind_started', 'jobs_kind_succeeded')"

/* Spacing a job by the last of its kind reads two indexes, not every job
 * kept: with a month of jobs (20 000 of one kind), both of its lookups in
 * job_enqueue_after_change() are index scans (migration 0025), and the job
 * still waits its interval (here two hours) after the last one started. */
static void spacing_reads_the_kind_indexes(void **state)
{
    (void)state;
    char *inserted = harness_query_text(
        &database,
        "WITH kept AS (INSERT INTO jobs (kind, status, run_at, created_at, started_at, "
        "                                finished_at) "
        "  SELECT 'spacing_probe', 'succeeded', t, t, t, t + interval '2 seconds' "
        "    FROM generate_series(timestamptz '2020-06-01T00:00:00+07:00', "
        "                         timestamptz '2020-07-01T12:00:00+07:00', "
        "                         interval '131 seconds') t RETURNING 1) "
        "SELECT count(*) >= 20000 FROM kept");
    assert_non_null(inserted);
    assert_string_equal(inserted, "t");
    free(inserted);
    char *analysed = harness_query_text(&database, "ANALYZE jobs; SELECT 'analysed'");
    free(analysed);
    char *scans_before = harness_query_text(&database, KIND_INDEX_SCANS);
    assert_non_null(scans_before);

    assert_true(harness_query_equals(
        &database,
        "SELECT job_enqueue_after_change('spacing_probe', '" LATER "', 7200, 50); "
        "SELECT rfc3339(run_at) FROM jobs WHERE kind = 'spacing_probe' AND status = 'queued'",
        "2020-07-01T13:59:56+07:00"));
    char more_scans[256];
    snprintf(more_scans, sizeof more_scans, "SELECT (" KIND_INDEX_SCANS ") >= %s + 2",
             scans_before);
    free(scans_before);
    assert_true(eventually(more_scans, "t"));
    free(harness_query_text(&database,
                            "DELETE FROM jobs WHERE kind = 'spacing_probe' RETURNING 1"));
}

int main(void)
{
    harness_init("indicators");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(before_any_rollup_there_is_no_snapshot),
        cmocka_unit_test(the_fixture_rolls_up_exactly),
        cmocka_unit_test(unchanged_figures_write_no_snapshot),
        cmocka_unit_test(scope_and_roles),
        cmocka_unit_test(parameters_are_checked),
        cmocka_unit_test(recompute_queues_one_job),
        cmocka_unit_test(writes_roll_up_spaced_and_converge),
        cmocka_unit_test(spacing_reads_the_kind_indexes),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    harness_finish();
    return failed;
}
