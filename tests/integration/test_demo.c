/* The lived-in demo: `baove-admin seed --demo` on a fresh database standing
 * on 20/4/2026 (BAOVE_NOW) writes a plausible 2026 for today's communes, and
 * a second run adds nothing:
 *
 *   - the counts of every table it writes are the same after both runs,
 *     and plausible (about 2 000 children, about 2.5 % of them in special
 *     circumstances, most of those supported; cases in several states;
 *     donors, pledges, payments applied to their instalments);
 *   - the plan of 2026 exists, written by plan_put() with its periods;
 *   - cases past their receipt have an assignee, two notes and their
 *     deadlines; the fund has four disbursements;
 *   - `baove-worker --once` computes the 2026 indicators: demo_district
 *     (province officer of 82) reads children_total > 0;
 *   - `seed --demo --children N` puts its children in today's communes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define DEMO_NOW "2026-04-20T09:00:00+07:00"

static struct test_database database;

/* One line with the count of every table the lived-in demo writes. */
static const char counts_sql[] =
    "SELECT concat_ws(' ', (SELECT count(*) FROM children), "
    "  (SELECT count(*) FROM child_circumstances), (SELECT count(*) FROM child_supports), "
    "  (SELECT count(*) FROM child_risks), (SELECT count(*) FROM cases), "
    "  (SELECT count(*) FROM case_history), (SELECT count(*) FROM fund_donors), "
    "  (SELECT count(*) FROM fund_pledges), (SELECT count(*) FROM fund_instalments), "
    "  (SELECT count(*) FROM fund_payments), (SELECT count(*) FROM change_log), "
    "  (SELECT count(*) FROM plans), (SELECT count(*) FROM principals), "
    "  (SELECT count(*) FROM case_notes), (SELECT count(*) FROM case_deadlines), "
    "  (SELECT count(*) FROM cases WHERE assigned_to IS NOT NULL), "
    "  (SELECT count(*) FROM fund_disbursements))";

static long long query_number(const char *sql)
{
    char *text = harness_query_text(&database, sql);
    assert_non_null(text);
    long long value = strtoll(text, NULL, 10);
    free(text);
    return value;
}

static int setup(void **state)
{
    (void)state;
    /* Migrated only: the test runs the seed itself. */
    return harness_create_database_on("baove_t_demo", true, false, DEMO_NOW, &database) ? 0
                                                                                         : -1;
}

static void seeding_twice_adds_nothing(void **state)
{
    (void)state;
    const char *const seed[] = {"seed", "--demo", NULL};
    assert_int_equal(harness_admin(&database, seed, NULL, NULL), 0);
    char *first = harness_query_text(&database, counts_sql);
    assert_non_null(first);
    assert_int_equal(harness_admin(&database, seed, NULL, NULL), 0);
    char *second = harness_query_text(&database, counts_sql);
    assert_non_null(second);
    assert_string_equal(second, first);
    free(first);
    free(second);
}

static void the_year_is_plausible(void **state)
{
    (void)state;
    assert_int_equal(query_number("SELECT count(*) FROM children"), 2000);
    long long circumstances =
        query_number("SELECT count(DISTINCT child_id) FROM child_circumstances");
    /* 1 in 40 drawn: 2.5 % of 2 000 is 50. */
    assert_in_range(circumstances, 30, 70);
    long long supported = query_number(
        "SELECT count(DISTINCT s.child_id) FROM child_supports s "
        "  JOIN child_circumstances c ON c.child_id = s.child_id");
    assert_true(supported * 100 >= circumstances * 80 && supported < circumstances);
    assert_in_range(query_number("SELECT count(*) FROM child_risks"), 3, 25);
    assert_in_range(query_number("SELECT count(DISTINCT status) FROM cases"), 5, 9);
    assert_int_equal(query_number("SELECT count(*) FROM fund_donors"), 15);
    assert_int_equal(query_number("SELECT count(*) FROM fund_pledges"), 10);
    /* Every payment applied to its pledge's first instalment. */
    assert_int_equal(query_number("SELECT count(*) FROM fund_payments "
                                  " WHERE applied_vnd = amount_vnd AND overpaid_vnd = 0"),
                     6);
    assert_int_equal(query_number("SELECT count(*) FROM fund_instalments "
                                  " WHERE paid_vnd = amount_vnd"),
                     6);
    /* Cases past their receipt have an assignee, notes and deadlines met up
     * to their step; the fund paid some of its money out. */
    assert_int_equal(query_number("SELECT count(*) FROM cases WHERE status <> 'received' "
                                  "   AND assigned_to IS NULL"),
                     0);
    assert_true(query_number("SELECT count(*) FROM cases WHERE assigned_to IS NOT NULL") >= 8);
    assert_int_equal(query_number("SELECT count(*) FROM cases c WHERE c.status <> 'received' "
                                  "   AND (SELECT count(*) FROM case_notes n "
                                  "         WHERE n.case_id = c.id) <> 2"),
                     0);
    assert_int_equal(query_number("SELECT count(*) FROM cases c WHERE c.status IN "
                                  "  ('detailed_assessed', 'plan_submitted', 'plan_approved', "
                                  "   'in_progress', 'reviewed', 'closed') AND NOT EXISTS ("
                                  "  SELECT FROM case_deadlines d WHERE d.case_id = c.id "
                                  "     AND d.kind = 'plan_submission')"),
                     0);
    /* Met up to the step, open at it: a closed case has none open. */
    assert_int_equal(query_number("SELECT count(*) FROM case_deadlines d JOIN cases c "
                                  "    ON c.id = d.case_id "
                                  " WHERE c.status = 'closed' AND d.met_at IS NULL"),
                     0);
    assert_true(query_number("SELECT count(*) FROM case_deadlines WHERE met_at IS NULL") > 0);
    assert_int_equal(query_number("SELECT count(*) FROM case_deadlines "
                                  " WHERE met_at > '" DEMO_NOW "'"),
                     0);
    assert_int_equal(query_number("SELECT count(*) FROM fund_disbursements"), 4);
    assert_int_equal(query_number("SELECT count(*) FROM fund_disbursements "
                                  " WHERE child_id IS NOT NULL"),
                     3);
    /* Every child, circumstance, risk and support left its change-log row. */
    assert_int_equal(query_number("SELECT count(*) FROM change_log"),
                     query_number("SELECT (SELECT count(*) FROM children) + "
                                  "(SELECT count(*) FROM child_circumstances) + "
                                  "(SELECT count(*) FROM child_supports) + "
                                  "(SELECT count(*) FROM child_risks)"));
    /* The communes of today only: 29971, 29978, 29983, 29992, 30154. */
    assert_int_equal(query_number("SELECT count(DISTINCT u.code) FROM children c "
                                  "  JOIN units u ON u.id = c.unit_id "
                                  " WHERE u.code IN ('29971', '29978', '29983', '29992', "
                                  "                  '30154')"),
                     5);
}

static void the_plan_of_2026_exists(void **state)
{
    (void)state;
    assert_int_equal(query_number("SELECT count(*) FROM plans p JOIN units u ON u.id = p.unit_id "
                                  " WHERE p.year = 2026 AND u.code = '82'"),
                     1);
    assert_int_equal(query_number("SELECT count(*) FROM plan_targets WHERE year = 2026"), 2);
    assert_true(query_number("SELECT count(*) FROM report_periods WHERE year = 2026") > 0);
}

static void the_rollup_counts_the_children(void **state)
{
    (void)state;
    const char *env[] = {"BAOVE_NOW=" DEMO_NOW, NULL};
    const char *args[] = {"--once", NULL};
    struct test_process worker;
    assert_true(harness_start_worker(&database, env, args, &worker));
    assert_int_equal(harness_wait_exit(&worker, 300), 0);

    struct test_process api;
    assert_true(harness_start_api(&database, env, &api));
    char *token = harness_login(&api, "demo_district", "baove-demo");
    assert_non_null(token);
    struct http_response *figures = http_get(&api, "/v1/indicators?unit=82&period=2026", token);
    assert_int_equal(figures->status, 200);
    json_t *items = json_object_get(figures->json, "items");
    long long children_total = -1;
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *entry = json_array_get(items, i);
        if (strcmp(json_text(entry, "code", NULL), "children_total") == 0)
            children_total = json_integer_value(json_object_get(entry, "value"));
    }
    assert_true(children_total > 0);
    http_free(figures);
    free(token);
    assert_int_equal(harness_stop(&api), 0);
}

/* `seed --demo --children N` (the benchmarks' data) on a day after
 * 1/7/2025 puts its children in today's communes, born in the 16 years
 * before the tree's day, and adds nothing the second time.  (Standing in
 * 2020 it keeps the 2020 communes: integration_reorganisation.) */
static void benchmark_children_in_todays_communes(void **state)
{
    (void)state;
    const char *const seed[] = {"seed", "--demo", "--children", "300", NULL};
    assert_int_equal(harness_admin(&database, seed, NULL, NULL), 0);
    static const char demo_children[] =
        "SELECT count(*) || ' ' || count(DISTINCT u.code) || ' ' "
        "       || count(*) FILTER (WHERE u.code IN ('29971', '29978', '29983', '29992', "
        "                                            '30154') AND u.valid_to IS NULL "
        "                             AND c.date_of_birth > '2009-07-01' "
        "                             AND c.registered_on >= '2025-07-01') "
        "  FROM children c JOIN units u ON u.id = c.unit_id "
        " WHERE c.created_at = '2025-07-01T08:00:00+07:00'";
    char *first = harness_query_text(&database, demo_children);
    assert_non_null(first);
    assert_string_equal(first, "300 5 300");
    assert_int_equal(harness_admin(&database, seed, NULL, NULL), 0);
    char *second = harness_query_text(&database, demo_children);
    assert_string_equal(second, first);
    free(first);
    free(second);
}

int main(void)
{
    harness_init("demo");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seeding_twice_adds_nothing),
        cmocka_unit_test(the_year_is_plausible),
        cmocka_unit_test(the_plan_of_2026_exists),
        cmocka_unit_test(the_rollup_counts_the_children),
        cmocka_unit_test(benchmark_children_in_todays_communes),
    };
    int failed = cmocka_run_group_tests(tests, setup, NULL);
    harness_finish();
    return failed;
}
