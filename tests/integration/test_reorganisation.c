/* The reorganisation of 1/7/2025 applied to a database holding 2020 data:
 *
 *   - demo data of 2020 (children, circumstances, supports over the ten
 *     communes) and two cases are written under BAOVE_NOW in 2020;
 *   - `baove-admin units apply --on 2025-07-01` (BAOVE_NOW 2026) moves the
 *     children and cases to the new communes, leaves Phú Thuận B's records
 *     whose hamlet has no rule (and says so), moves the one it has a rule
 *     for, writes the feed, the unit history and the audit;
 *   - every 2020 figure of every unit (indicator_figures, what snapshots and
 *     reports are made of) is the same before and after, and no record is
 *     lost or duplicated (ids before and after);
 *   - 2026 rolls the new communes up to province 82 and nothing up to 870;
 *   - applying again changes nothing;
 *   - a principal left at the ended district gets a 403 naming its unit. */
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

static char *query_text(const char *sql)
{
    char *text = harness_query_text(&database, sql);
    assert_non_null(text);
    return text;
}

static void assert_query(const char *sql, const char *expected)
{
    assert_true(harness_query_equals(&database, sql, expected));
}

/* baove-admin under a clock; its stdout in *printed when not NULL. */
static int admin_at(const char *now, const char *const args[], char **printed)
{
    const char *argv[16] = {harness_env("BAOVE_ADMIN_BIN")};
    for (size_t i = 0; args[i] != NULL && i < 14; i++)
        argv[i + 1] = args[i];
    char url[600], clock[64];
    snprintf(url, sizeof url, "BAOVE_ADMIN_DATABASE_URL=%s", database.admin_url);
    snprintf(clock, sizeof clock, "BAOVE_NOW=%s", now);
    const char *env[] = {url, clock, NULL};
    return harness_run(argv, env, NULL, printed);
}

/* Every 2020 figure of every unit, and every record id. */
static const char figures_2020[] =
    "SELECT string_agg(f.period || ' ' || u.code || ' ' || f.figures::text || ' ' "
    "                  || f.breakdown::text, E'\\n' ORDER BY f.period, u.code) "
    "  FROM indicator_figures(NULL, NULL, '2026-01-05T09:00:00+07:00') f "
    "  JOIN units u ON u.id = f.unit_id WHERE f.period LIKE '2020%'";
static const char record_ids[] =
    "SELECT (SELECT count(*) || ' ' || md5(string_agg(id::text, ',' ORDER BY id)) "
    "          FROM children WHERE deleted_at IS NULL) || ' / ' || "
    "       (SELECT count(*) || ' ' || md5(string_agg(id::text, ',' ORDER BY id)) FROM cases)";

static int setup(void **state)
{
    (void)state;
    return harness_create_database("baove_t_reorganisation", true, true, &database) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return 0;
}

/* 2020 data: demo children over the ten communes, three of Phú Thuận B's
 * in Ấp Phú Hòa, and cases on two children. */
static void write_2020(void)
{
    assert_int_equal(admin_at("2020-07-01T09:00:00+07:00",
                              (const char *const[]){"seed", "--demo", "--children", "400",
                                                    NULL},
                              NULL),
                     0);
    PGconn *connection = PQconnectdb(database.admin_url);
    assert_int_equal(PQstatus(connection), CONNECTION_OK);
    PGresult *result = PQexec(
        connection,
        "UPDATE children SET hamlet = 'Ấp Phú Hòa' WHERE id IN (SELECT id FROM children "
        " WHERE unit_id = (SELECT id FROM units WHERE code = '29995' AND valid_from = "
        "'2000-01-01') ORDER BY id LIMIT 3);"
        "INSERT INTO cases (id, child_id, unit_id, received_at, source, concerns, summary, "
        "                   status, created_at, updated_at) "
        "SELECT gen_random_uuid(), c.id, c.unit_id, '2020-03-02T08:00:00+07', 'hotline_111', "
        "       '{violence}', 'Trẻ bị bạo lực', s, '2020-03-02T08:00:00+07', "
        "       '2020-03-02T08:00:00+07' "
        "  FROM (SELECT id, unit_id, row_number() OVER (ORDER BY id) AS n FROM children "
        "         WHERE date_of_birth > '2006-01-01' ORDER BY id LIMIT 2) c, "
        "       (VALUES (1, 'received'), (2, 'closed')) v (n, s) WHERE v.n = c.n;"
        "UPDATE principals SET unit_id = (SELECT id FROM units WHERE code = '870') "
        " WHERE username = 'demo_viewer';"
        /* A case transferred to Phú Thuận B, whose child stays registered
         * in Long Khánh A, in a hamlet of that name too. */
        "UPDATE children SET hamlet = 'Ấp Phú Hòa' WHERE id = (SELECT id FROM children "
        " WHERE unit_id = (SELECT id FROM units WHERE code = '29980' AND valid_from = "
        "'2000-01-01') ORDER BY id LIMIT 1);"
        "INSERT INTO cases (id, child_id, unit_id, received_at, source, concerns, summary, "
        "                   status, created_at, updated_at) "
        "SELECT gen_random_uuid(), c.id, (SELECT id FROM units WHERE code = '29995' "
        "       AND valid_from = '2000-01-01'), '2020-04-02T08:00:00+07', 'hotline_111', "
        "       '{neglect}', 'Gia đình chuyển đến', 'received', '2020-04-02T08:00:00+07', "
        "       '2020-04-02T08:00:00+07' "
        "  FROM children c JOIN units u ON u.id = c.unit_id "
        " WHERE u.code = '29980' AND c.hamlet = 'Ấp Phú Hòa'");
    if (PQresultStatus(result) != PGRES_COMMAND_OK)
        fprintf(stderr, "%s", PQresultErrorMessage(result));
    assert_int_equal(PQresultStatus(result), PGRES_COMMAND_OK);
    PQclear(result);
    PQfinish(connection);
}

/* An administrator records the hamlet rule of Phú Thuận B's split with
 * `units hamlets`, after `units successions` showed the hamlets its records
 * name; a rule for a whole succession, or for a hamlet another part holds,
 * is refused; the rule is audited. */
static void record_a_hamlet_rule(void)
{
    const char *const successions[] = {"units", "successions", "--on", "2025-07-01", NULL};
    char *listed = NULL;
    assert_int_equal(admin_at("2026-01-05T09:00:00+07:00", successions, &listed), 0);
    assert_non_null(strstr(listed, "\"hamlet\": \"Ấp Phú Hòa\""));
    assert_non_null(strstr(listed, "\"to\": \"30154\""));
    free(listed);
    const char *const rule[] = {"units", "hamlets", "--from", "29995", "--to", "30154",
                                "--on", "2025-07-01", "--hamlet", "Ấp Phú Hòa", NULL};
    assert_int_equal(admin_at("2026-01-05T09:00:00+07:00", rule, NULL), 0);
    const char *const taken[] = {"units", "hamlets", "--from", "29995", "--to", "29992",
                                 "--on", "2025-07-01", "--hamlet", "ap phu hoa", NULL};
    assert_int_equal(admin_at("2026-01-05T09:00:00+07:00", taken, NULL), 1);
    const char *const whole[] = {"units", "hamlets", "--from", "29980", "--to", "29983",
                                 "--on", "2025-07-01", "--hamlet", "Ấp 1", NULL};
    assert_int_equal(admin_at("2026-01-05T09:00:00+07:00", whole, NULL), 1);
    const char *const twice[] = {"units", "hamlets", "--from", "29995", "--to", "29992",
                                 "--on", "2025-07-01", "--hamlet", "Ấp 1", "--hamlet",
                                 "ẤP 1", NULL};
    assert_int_equal(admin_at("2026-01-05T09:00:00+07:00", twice, NULL), 1);
    const char *const none[] = {"units", "hamlets", "--from", "29995", "--to", "29992",
                                "--on", "2025-07-01", NULL};
    assert_int_equal(admin_at("2026-01-05T09:00:00+07:00", none, NULL), 1);
    assert_query("SELECT string_agg(u.code || ' ' || coalesce(s.hamlets::text, '-'), ', ' "
                 "                  ORDER BY u.code) "
                 "  FROM unit_successions s JOIN units u ON u.id = s.successor_id "
                 " WHERE s.kind = 'part'",
                 "29992 -, 30154 {\"Ấp Phú Hòa\"}");
    assert_query("SELECT string_agg(actor || ' ' || request_id, ', ') FROM audit_log "
                 " WHERE resource_type = 'unit_successions'",
                 "baove-admin units hamlets --from 29995 --to 30154 --on 2025-07-01");
}

static void the_2025_reorganisation(void **state)
{
    (void)state;
    write_2020();
    record_a_hamlet_rule();
    char *before = query_text(figures_2020);
    char *ids_before = query_text(record_ids);
    assert_non_null(strstr(before, "2020 870 {"));

    /* Not before it is in force. */
    const char *const apply[] = {"units", "apply", "--on", "2025-07-01", NULL};
    assert_int_equal(admin_at("2025-06-30T09:00:00+07:00", apply, NULL), 1);
    char *report = NULL;
    assert_int_equal(admin_at("2026-01-05T09:00:00+07:00", apply, &report), 0);
    assert_non_null(strstr(report, "\"to\": \"30154\""));
    assert_non_null(strstr(report, "\"unit\": \"29995\""));     /* left: no hamlet rule */
    assert_non_null(strstr(report, "\"demo_viewer\""));         /* left at 870 */
    free(report);

    char *after = query_text(figures_2020);
    char *ids_after = query_text(record_ids);
    assert_string_equal(after, before);
    assert_string_equal(ids_after, ids_before);
    free(after);
    free(ids_after);

    /* Live records of the old communes moved, except Phú Thuận B's without a rule. */
    assert_query("SELECT count(*) FROM children c JOIN units u ON u.id = c.unit_id "
                 " WHERE u.valid_to = '2025-06-30' AND u.code <> '29995'",
                 "0");
    assert_query("SELECT count(*) FROM children c JOIN units u ON u.id = c.unit_id "
                 " WHERE u.code = '30154'",
                 "3");
    assert_query("SELECT count(*) FROM cases k JOIN units u ON u.id = k.unit_id "
                 " WHERE u.valid_from = '2025-07-01'",
                 "2");
    /* The transferred case is not routed by its child's hamlet, which is
     * another commune's: it is left, and reported, for the operator. */
    assert_query("SELECT count(*) FROM cases k JOIN units u ON u.id = k.unit_id "
                 " WHERE u.code = '29995'",
                 "1");
    /* The feed names the unit and the previous one of each moved record (a
     * moved child's circumstances, risks and supports follow it in the feed,
     * feed_documents_follow); the history and audit agree. */
    assert_query("SELECT (SELECT count(*) FROM change_log WHERE previous_unit_id IS NOT NULL "
                 "           AND resource_type IN ('children', 'cases')) "
                 "       = (SELECT count(*) FROM record_unit_moves) "
                 "   AND (SELECT count(*) FROM record_unit_moves) > 300 "
                 "   AND (SELECT sum(cardinality(resource_ids)) FROM audit_log "
                 "         WHERE request_id = 'units apply --on 2025-07-01' "
                 "           AND resource_type IN ('children', 'cases')) "
                 "       = (SELECT count(*) FROM record_unit_moves)",
                 "t");

    /* 2026 rolls up to province 82: its children are those of the new communes. */
    assert_query("SELECT count(*) FROM indicator_unit_tree('2026-10-31') t "
                 "  JOIN units u ON u.id = t.ancestor_id WHERE u.code = '870'",
                 "0");
    assert_query("SELECT (SELECT f.figures[1] FROM indicator_figures(NULL, NULL, now()) f "
                 "          JOIN units u ON u.id = f.unit_id "
                 "         WHERE u.code = '82' AND f.period = '2020') IS NULL",
                 "t");

    /* Again: nothing moves, nothing is written twice. */
    char *moves = query_text("SELECT count(*) || ' ' || (SELECT count(*) FROM change_log) "
                             "FROM record_unit_moves");
    assert_int_equal(admin_at("2026-01-05T09:00:00+07:00", apply, NULL), 0);
    assert_query("SELECT count(*) || ' ' || (SELECT count(*) FROM change_log) "
                 "FROM record_unit_moves",
                 moves);
    free(moves);
    assert_query(record_ids, ids_before);
    free(before);
    free(ids_before);
}

/* The 2026 plan through the API at province 82; its figures roll the new
 * communes up to 82; a principal left at 870 is told its unit ended. */
static void after_the_reorganisation(void **state)
{
    (void)state;
    const char *env[] = {"BAOVE_NOW=2026-04-20T09:00:00+07:00", NULL};
    struct test_process api;
    assert_true(harness_start_api(&database, env, &api));
    char *province = harness_login(&api, "demo_district", "baove-demo");
    assert_non_null(province);
    struct http_options put = {
        .method = "PUT", .path = "/v1/plans/2026", .token = province,
        .body = "{\"title\":\"Kế hoạch 2026\",\"reference\":\"5/KH-UBND\",\"unit\":\"82\","
                "\"targets\":[{\"code\":\"csc_rate\",\"comparator\":\"lt\",\"numerator\":3,"
                "\"denominator\":100,\"description\":\"below 3 %\"}],"
                "\"fund_targets\":[{\"unit\":\"29983\",\"amount_vnd\":20000000}]}"};
    struct http_response *plan = http_call(&api, &put);
    if (plan->status != 201)
        fprintf(stderr, "%s\n", plan->body);
    assert_int_equal(plan->status, 201);
    http_free(plan);
    assert_query("SELECT f.figures[1] = (SELECT count(*) FROM children c "
                 "        WHERE c.deleted_at IS NULL "
                 "          AND c.unit_id IN (SELECT id FROM unit_subtree(u.id, '2026-12-31')) "
                 "          AND c.registered_on <= '2026-12-31' "
                 "          AND c.date_of_birth > '2010-12-31') AND f.figures[1] > 0 "
                 "  FROM indicator_figures(NULL, '2026', '2026-04-20T09:00:00+07:00') f "
                 "  JOIN units u ON u.id = f.unit_id WHERE u.code = '82'",
                 "t");
    /* 2020 still reads in the 2020 tree for the province officer, once the
     * worker has computed the snapshots. */
    struct http_response *queued =
        http_post_json(&api, "/v1/indicators/recompute", province, NULL);
    assert_int_equal(queued->status, 202);
    http_free(queued);
    const char *args[] = {"--once", NULL};
    struct test_process worker;
    assert_true(harness_start_worker(&database, env, args, &worker));
    assert_int_equal(harness_wait_exit(&worker, 120), 0);
    struct http_response *old = http_get(&api, "/v1/indicators?unit=870&period=2020", province);
    if (old->status != 200)
        fprintf(stderr, "%s\n", old->body);
    assert_int_equal(old->status, 200);
    http_free(old);
    /* So does its report summary (the unit in the tree of the cut-off). */
    struct http_response *summary =
        http_get(&api, "/v1/reports/2020/summary?unit=870", province);
    if (summary->status != 200)
        fprintf(stderr, "%s\n", summary->body);
    assert_int_equal(summary->status, 200);
    assert_int_equal(json_integer_value(json_object_get(summary->json, "expected")), 10);
    http_free(summary);
    char *stranded = harness_login(&api, "demo_viewer", "baove-demo");
    assert_non_null(stranded);
    struct http_response *me = http_get(&api, "/v1/me", stranded);
    assert_int_equal(me->status, 403);
    assert_non_null(strstr(me->body, "unit-ended"));
    assert_non_null(strstr(me->body, "870"));
    http_free(me);
    free(stranded);
    free(province);
    assert_int_equal(harness_stop(&api), 0);
}

/* 2025, the year of the reorganisation: what Long Khánh A raised before
 * 1/7 counts in the year's figures of Xã Long Khánh, which took it over
 * whole, and of the province, beside what the new commune raised since
 * (the old commune's books stay its own, and its 20 million were lost from
 * the year's figures). */
static void the_reorganisation_years_fund_figures(void **state)
{
    (void)state;
    PGconn *owner = PQconnectdb(database.admin_url);
    assert_int_equal(PQstatus(owner), CONNECTION_OK);
    PGresult *result = PQexec(
        owner,
        "SELECT plan_put(2025::smallint, plan_document(p)::jsonb, now()) FROM plans p "
        " WHERE p.year = 2020;"
        "INSERT INTO fund_donors (id, unit_id, kind, name, created_at, updated_at) "
        "SELECT md5('donor:' || u.id)::uuid, u.id, 'business', 'Doanh nghiệp ' || u.code, "
        "       now(), now() "
        "  FROM units u WHERE (u.code, u.valid_from) IN (('29980', '2000-01-01'), "
        "                                                ('29983', '2025-07-01'));"
        "INSERT INTO fund_payments (id, unit_id, year, donor_id, amount_vnd, received_on, "
        "                           method, receipt_no, created_at) "
        "SELECT gen_random_uuid(), u.id, 2025, md5('donor:' || u.id)::uuid, "
        "       CASE WHEN u.code = '29980' THEN 20000000 ELSE 5000000 END, "
        "       CASE WHEN u.code = '29980' THEN date '2025-03-10' ELSE date '2025-09-10' END, "
        "       'cash', 'R-' || u.code, now() "
        "  FROM units u WHERE (u.code, u.valid_from) IN (('29980', '2000-01-01'), "
        "                                                ('29983', '2025-07-01'))");
    if (PQresultStatus(result) != PGRES_COMMAND_OK)
        fprintf(stderr, "%s", PQresultErrorMessage(result));
    assert_int_equal(PQresultStatus(result), PGRES_COMMAND_OK);
    PQclear(result);
    PQfinish(owner);
    assert_query("SELECT string_agg(u.code || ' ' || f.figures[16], ', ' ORDER BY u.code) "
                 "  FROM indicator_figures(NULL, '2025', now()) f "
                 "  JOIN units u ON u.id = f.unit_id WHERE u.code IN ('29983', '82')",
                 "29983 25000000, 82 25000000");
}

int main(void)
{
    harness_init("reorganisation");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_2025_reorganisation),
        cmocka_unit_test(after_the_reorganisation),
        cmocka_unit_test(the_reorganisation_years_fund_figures),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    harness_finish();
    return failed;
}
