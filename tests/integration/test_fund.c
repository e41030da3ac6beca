/* The child protection fund end to end: the plan's targets; donors, pledges
 * with instalments, partial and over payments, gifts in kind, donations and
 * disbursements (general and earmarked, one refused) in the books of the
 * district and of three communes, with every summary figure worked out by
 * hand below; pledge statuses moving with the clock; two payments racing on
 * one pledge; a retried payment; bad amounts; scope and roles; the public
 * statement as JSON and CSV; fund entries in the change feed.
 *
 * The main API stands on 2020-07-01 (BAOVE_NOW); a second one on 2020-10-01
 * shows the same books three months later. */
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
static char *admin, *district, *commune_a, *commune_b, *commune_c, *chair, *viewer;

#define LAN "6b6c9d7a-5ad5-4ab8-8a76-c09f7d8b9ca3" /* a child of Xã Long Khánh A (29980) */

/* Ids of what the scenario creates, used by the later tests. */
static char donor_company[40], donor_anonymous[40], donor_red_cross[40], donor_hoa[40],
    donor_bank[40];
static char pledge_p1[40], pledge_p2[40], pledge_p3[40], pledge_p4[40], pledge_p5[40],
    pledge_p6[40];

static int setup(void **state)
{
    (void)state;
    if (!harness_create_database_on("baove_t_fund", true, true, "2020-07-01T09:00:00+07:00",
                                    &database))
        return -1;
    const char *users[][3] = {{"officer_lkb", "commune_officer", "29983"},
                              {"officer_tp1", "commune_officer", "29956"}};
    for (size_t i = 0; i < 2; i++) {
        const char *args[] = {"user", "add", "--username", users[i][0], "--role", users[i][1],
                              "--unit", users[i][2], "--password-stdin", NULL};
        if (harness_admin(&database, args, "baove-demo\n", NULL) != 0)
            return -1;
    }
    const char *env[] = {"BAOVE_NOW=2020-07-01T09:00:00+07:00", NULL};
    if (!harness_start_api(&database, env, &api))
        return -1;
    admin = harness_login(&api, "demo_admin", "baove-demo");
    district = harness_login(&api, "demo_district", "baove-demo");
    commune_a = harness_login(&api, "demo_commune", "baove-demo");
    commune_b = harness_login(&api, "officer_lkb", "baove-demo");
    commune_c = harness_login(&api, "officer_tp1", "baove-demo");
    chair = harness_login(&api, "demo_chair", "baove-demo");
    viewer = harness_login(&api, "demo_viewer", "baove-demo");
    struct http_options lan = {
        .method = "PUT", .path = "/v1/children/" LAN, .token = commune_a,
        .body = "{\"unit\":\"29980\",\"full_name\":\"Trần Thị Lan\",\"sex\":\"female\","
                "\"date_of_birth\":\"2010-09-12\",\"registered_on\":\"2020-01-02\"}"};
    struct http_response *child = http_call(&api, &lan);
    bool ok = child->status == 201;
    http_free(child);
    return ok && admin && district && commune_a && commune_b && commune_c && chair && viewer
               ? 0
               : -1;
}

static int teardown(void **state)
{
    (void)state;
    char *tokens[] = {admin, district, commune_a, commune_b, commune_c, chair, viewer};
    for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++)
        free(tokens[i]);
    return harness_stop(&api) == 0 ? 0 : -1;
}

/* ---- helpers ------------------------------------------------------------------- */

static struct http_response *call_on(const struct test_process *server, const char *method,
                                     const char *path, const char *token, const char *body,
                                     const char *header)
{
    const char *headers[] = {header, NULL};
    struct http_options options = {.method = method, .path = path, .token = token,
                                   .body = body, .headers = headers};
    return http_call(server, &options);
}

/* Sends a request, fails unless the status is `expected`; returns the body. */
static json_t *expect(const char *method, const char *path, const char *token,
                      const char *body, const char *header, long expected)
{
    struct http_response *response = call_on(&api, method, path, token, body, header);
    if (response->status != expected)
        fail_msg("%s %s: expected %ld, got %ld: %s", method, path, expected, response->status,
                 response->body);
    json_t *document = json_incref(response->json);
    http_free(response);
    return document;
}

/* Creates a record and keeps its id. */
static void create(const char *path, const char *token, const char *body, const char *header,
                   char id[40])
{
    json_t *document = expect("POST", path, token, body, header, 201);
    snprintf(id, 40, "%s", json_text(document, "id", NULL));
    json_decref(document);
}

static int payment_count;

/* Records a payment under a fresh Idempotency-Key; returns the payment. */
static json_t *pay(const char *token, const char *body, long expected)
{
    char header[64];
    snprintf(header, sizeof header, "Idempotency-Key: fund-test-payment-%d", ++payment_count);
    return expect("POST", "/v1/fund/payments", token, body, header, expected);
}

static long long integer(const json_t *object, const char *name)
{
    const json_t *member = json_object_get(object, name);
    if (!json_is_integer(member))
        fail_msg("%s is not an integer", name);
    return (long long)json_integer_value(member);
}

static json_t *pledge(const char *id, const char *token)
{
    char path[96];
    snprintf(path, sizeof path, "/v1/fund/pledges/%s", id);
    return expect("GET", path, token, NULL, NULL, 200);
}

static void assert_pledge(const char *id, const char *token, const char *status,
                          long long paid, long long outstanding, long long overpaid)
{
    json_t *document = pledge(id, token);
    assert_string_equal(json_text(document, "status", NULL), status);
    assert_int_equal(integer(document, "paid_vnd"), paid);
    assert_int_equal(integer(document, "outstanding_vnd"), outstanding);
    assert_int_equal(integer(document, "overpaid_vnd"), overpaid);
    json_decref(document);
}

static void sql_value(const char *sql, char *value, size_t size)
{
    PGconn *connection = PQconnectdb(database.admin_url);
    assert_int_equal(PQstatus(connection), CONNECTION_OK);
    PGresult *result = PQexec(connection, sql);
    if (PQresultStatus(result) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(result));
    snprintf(value, size, "%s", PQntuples(result) > 0 ? PQgetvalue(result, 0, 0) : "");
    PQclear(result);
    PQfinish(connection);
}

/* ---- targets -------------------------------------------------------------------- */

static void the_plan_targets_300_million(void **state)
{
    (void)state;
    json_t *targets = expect("GET", "/v1/fund/targets?year=2020", viewer, NULL, NULL, 200);
    assert_int_equal(integer(targets, "total_vnd"), 300000000);
    json_t *items = json_object_get(targets, "items");
    assert_int_equal(json_array_size(items), 11); /* the district and its 10 communes/town */
    assert_string_equal(json_text(json_array_get(items, 0), "unit", NULL), "870");
    assert_int_equal(integer(json_array_get(items, 0), "amount_vnd"), 100000000);
    for (size_t i = 1; i < 11; i++)
        assert_int_equal(integer(json_array_get(items, i), "amount_vnd"), 20000000);
    json_decref(targets);
    /* A commune's officer sees its own target only. */
    targets = expect("GET", "/v1/fund/targets?year=2020", commune_a, NULL, NULL, 200);
    assert_int_equal(integer(targets, "total_vnd"), 20000000);
    json_decref(targets);

    /* The district sets next year's targets; communes may not. */
    json_t *target = expect("PUT", "/v1/fund/targets/2021/29980", district,
                            "{\"amount_vnd\":25000000}", NULL, 201);
    assert_int_equal(integer(target, "version"), 1);
    json_decref(target);
    target = expect("PUT", "/v1/fund/targets/2021/29980", district, "{\"amount_vnd\":30000000}",
                    NULL, 200);
    assert_int_equal(integer(target, "version"), 2);
    assert_int_equal(integer(target, "amount_vnd"), 30000000);
    json_decref(target);
    json_decref(expect("PUT", "/v1/fund/targets/2021/29980", commune_a,
                       "{\"amount_vnd\":1}", NULL, 403));
    json_decref(expect("PUT", "/v1/fund/targets/2021/29980", district,
                       "{\"amount_vnd\":-1}", NULL, 422));
    json_decref(expect("PUT", "/v1/fund/targets/2021/99999", district,
                       "{\"amount_vnd\":1}", NULL, 404));
    json_decref(expect("GET", "/v1/fund/targets?year=twenty", viewer, NULL, NULL, 400));
}

/* ---- the books of three communes and the district --------------------------------- */

static void donors(void)
{
    create("/v1/fund/donors", commune_a,
           "{\"unit\":\"29980\",\"kind\":\"business\",\"name\":\"Công ty TNHH Thủy sản Hồng "
           "Ngự\",\"phone\":\"02773123456\",\"address\":\"Ấp Long Hòa, xã Long Khánh A\","
           "\"anonymous_in_disclosure\":false}",
           "Idempotency-Key: donor-company", donor_company);
    create("/v1/fund/donors", commune_a,
           "{\"unit\":\"29980\",\"kind\":\"individual\",\"name\":\"Nguyễn Văn Tâm\","
           "\"phone\":\"0912888777\",\"address\":\"Ấp Long Thạnh\","
           "\"anonymous_in_disclosure\":true}",
           NULL, donor_anonymous);
    create("/v1/fund/donors", commune_b,
           "{\"unit\":\"29983\",\"kind\":\"organization\","
           "\"name\":\"Hội Chữ thập đỏ xã Long Khánh B\"}",
           NULL, donor_red_cross);
    create("/v1/fund/donors", commune_c,
           "{\"unit\":\"29956\",\"kind\":\"individual\",\"name\":\"Trần Thị Hoa\","
           "\"phone\":\"0939111222\",\"anonymous_in_disclosure\":false}",
           NULL, donor_hoa);
    create("/v1/fund/donors", district,
           "{\"unit\":\"870\",\"kind\":\"business\",\"name\":\"Ngân hàng Nông nghiệp chi "
           "nhánh Hồng Ngự\"}",
           NULL, donor_bank);

    /* A donor changes: If-Match required, and the change is versioned. */
    char path[96];
    snprintf(path, sizeof path, "/v1/fund/donors/%s", donor_company);
    json_decref(expect("PATCH", path, commune_a, "{\"phone\":\"02773999999\"}", NULL, 428));
    json_t *changed = expect("PATCH", path, commune_a, "{\"phone\":\"02773999999\"}",
                             "If-Match: \"1\"", 200);
    assert_string_equal(json_text(changed, "phone", NULL), "02773999999");
    assert_int_equal(integer(changed, "version"), 2);
    json_decref(changed);
    json_decref(expect("PATCH", path, commune_a, "{\"name\":\"X\"}", "If-Match: \"1\"", 412));
    json_decref(expect("PATCH", path, commune_a, "{\"kind\":\"alien\"}", "If-Match: \"2\"", 422));
}

static void commune_a_books(void)
{
    char body[1024];
    /* P1: 12 000 000 in three instalments of 4 000 000. */
    snprintf(body, sizeof body,
             "{\"donor_id\":\"%s\",\"unit\":\"29980\",\"year\":2020,\"amount_vnd\":12000000,"
             "\"pledged_on\":\"2020-03-01\",\"instalments\":["
             "{\"due_on\":\"2020-04-30\",\"amount_vnd\":4000000},"
             "{\"due_on\":\"2020-06-30\",\"amount_vnd\":4000000},"
             "{\"due_on\":\"2020-09-30\",\"amount_vnd\":4000000}]}",
             donor_company);
    create("/v1/fund/pledges", commune_a, body, NULL, pledge_p1);
    assert_pledge(pledge_p1, commune_a, "overdue", 0, 12000000, 0);
    /* 5 000 000 cash: the first instalment in full, 1 000 000 of the second. */
    snprintf(body, sizeof body,
             "{\"pledge_id\":\"%s\",\"unit\":\"29980\",\"amount_vnd\":5000000,"
             "\"received_on\":\"2020-04-20\",\"method\":\"cash\",\"receipt_no\":\"PT-001\"}",
             pledge_p1);
    json_t *payment = pay(commune_a, body, 201);
    assert_int_equal(integer(payment, "applied_vnd"), 5000000);
    assert_int_equal(integer(payment, "overpaid_vnd"), 0);
    assert_string_equal(json_text(payment, "donor_id", NULL), donor_company);
    json_decref(payment);
    json_t *document = pledge(pledge_p1, commune_a);
    json_t *instalments = json_object_get(document, "instalments");
    assert_int_equal(integer(json_array_get(instalments, 0), "paid_vnd"), 4000000);
    assert_string_equal(json_text(json_array_get(instalments, 0), "status", NULL), "paid");
    assert_int_equal(integer(json_array_get(instalments, 1), "paid_vnd"), 1000000);
    /* Due 2020-06-30, not fully paid on 2020-07-01. */
    assert_string_equal(json_text(json_array_get(instalments, 1), "status", NULL), "overdue");
    assert_string_equal(json_text(json_array_get(instalments, 2), "status", NULL), "open");
    assert_string_equal(json_text(document, "status", NULL), "overdue");
    json_decref(document);

    /* The edit raises P1 to 14 000 000: the two instalments with money on
     * them stay, the unpaid third (4 000 000) becomes 3 000 000 + 3 000 000. */
    char path[96];
    snprintf(path, sizeof path, "/v1/fund/pledges/%s", pledge_p1);
    json_t *refused = expect("PATCH", path, commune_a,
                             "{\"amount_vnd\":14000000,\"instalments\":["
                             "{\"due_on\":\"2020-09-30\",\"amount_vnd\":4000000}]}",
                             "If-Match: \"1\"", 422);
    assert_string_equal(json_text(json_array_get(json_object_get(refused, "errors"), 0),
                                  "pointer", NULL), "/instalments");
    json_decref(refused);
    json_decref(expect("PATCH", path, commune_a, "{\"amount_vnd\":14000000}", "If-Match: \"1\"",
                       422));
    json_decref(expect("PATCH", path, commune_a, "{\"note\":\"x\"}", "If-Match: \"7\"", 412));
    json_t *edited = expect("PATCH", path, commune_a,
                            "{\"amount_vnd\":14000000,\"instalments\":["
                            "{\"due_on\":\"2020-09-30\",\"amount_vnd\":3000000},"
                            "{\"due_on\":\"2020-11-30\",\"amount_vnd\":3000000}],"
                            "\"note\":\"Tăng cam kết theo thư ngày 25/6\"}",
                            "If-Match: \"1\"", 200);
    instalments = json_object_get(edited, "instalments");
    assert_int_equal(json_array_size(instalments), 4);
    assert_int_equal(integer(json_array_get(instalments, 0), "paid_vnd"), 4000000);
    assert_int_equal(integer(json_array_get(instalments, 1), "paid_vnd"), 1000000);
    assert_int_equal(integer(edited, "amount_vnd"), 14000000);
    assert_int_equal(integer(edited, "paid_vnd"), 5000000);
    assert_int_equal(integer(edited, "outstanding_vnd"), 9000000);
    assert_int_equal(integer(edited, "version"), 2);
    json_decref(edited);

    /* P2: 3 000 000 for Lan (earmarked), one instalment at the year's end;
     * 3 500 000 arrive: 500 000 overpaid, kept on the payment. */
    snprintf(body, sizeof body,
             "{\"donor_id\":\"%s\",\"unit\":\"29980\",\"year\":2020,\"amount_vnd\":3000000,"
             "\"pledged_on\":\"2020-05-10\",\"earmark\":{\"child_id\":\"" LAN "\"}}",
             donor_anonymous);
    create("/v1/fund/pledges", commune_a, body, NULL, pledge_p2);
    document = pledge(pledge_p2, commune_a);
    assert_string_equal(json_text(document, "status", NULL), "pending");
    assert_string_equal(json_text(json_array_get(json_object_get(document, "instalments"), 0),
                                  "due_on", NULL), "2020-12-31");
    json_decref(document);
    snprintf(body, sizeof body,
             "{\"pledge_id\":\"%s\",\"unit\":\"29980\",\"amount_vnd\":3500000,"
             "\"received_on\":\"2020-06-01\",\"method\":\"bank_transfer\","
             "\"receipt_no\":\"PT-002\"}",
             pledge_p2);
    payment = pay(commune_a, body, 201);
    assert_int_equal(integer(payment, "applied_vnd"), 3000000);
    assert_int_equal(integer(payment, "overpaid_vnd"), 500000);
    assert_string_equal(json_text(payment, "earmark", "child_id", NULL), LAN);
    json_decref(payment);
    assert_pledge(pledge_p2, commune_a, "completed", 3000000, 0, 500000);

    /* A gift in kind without a pledge or a donor record: exercise books
     * valued at 2 000 000. */
    payment = pay(commune_a,
                  "{\"unit\":\"29980\",\"amount_vnd\":2000000,\"received_on\":\"2020-06-01\","
                  "\"method\":\"in_kind\",\"in_kind_description\":\"200 cuốn vở, 50 bộ sách "
                  "giáo khoa\",\"receipt_no\":\"PT-003\"}",
                  201);
    assert_true(json_is_null(json_object_get(payment, "pledge_id")));
    json_decref(payment);

    /* General money: 5 000 000 in cash and 2 000 000 in goods, apart:
     * 4 000 000 of the cash is spent. */
    json_decref(expect("POST", "/v1/fund/disbursements", commune_a,
                       "{\"unit\":\"29980\",\"amount_vnd\":4000000,\"disbursed_on\":"
                       "\"2020-06-15\",\"decision_no\":\"QĐ-12/UBND\","
                       "\"purpose\":\"Quà Trung thu cho trẻ em\"}",
                       NULL, 201));
    /* 3 500 000 more is refused: 1 000 000 general cash is left; neither
     * the goods nor Lan's 3 500 000 can pay for it. */
    json_t *overdraft = expect("POST", "/v1/fund/disbursements", commune_a,
                               "{\"unit\":\"29980\",\"amount_vnd\":3500000,\"disbursed_on\":"
                               "\"2020-06-20\",\"decision_no\":\"QĐ-14/UBND\","
                               "\"purpose\":\"Sửa nhà cho hộ nghèo\"}",
                               NULL, 409);
    assert_string_equal(json_text(overdraft, "type", NULL), "/problems/conflict");
    assert_int_equal(integer(overdraft, "available_vnd"), 1000000);
    json_decref(overdraft);
    /* The exercise books are handed out as goods, at their value (and no
     * more goods than were given). */
    overdraft = expect("POST", "/v1/fund/disbursements", commune_a,
                       "{\"unit\":\"29980\",\"amount_vnd\":2500000,\"disbursed_on\":"
                       "\"2020-06-25\",\"decision_no\":\"QĐ-16/UBND\",\"purpose\":\"Phát vở "
                       "và sách giáo khoa cho trẻ em\",\"in_kind\":true}",
                       NULL, 409);
    assert_int_equal(integer(overdraft, "available_vnd"), 2000000);
    json_decref(overdraft);
    json_decref(expect("POST", "/v1/fund/disbursements", commune_a,
                       "{\"unit\":\"29980\",\"amount_vnd\":2000000,\"disbursed_on\":"
                       "\"2020-06-25\",\"decision_no\":\"QĐ-16/UBND\",\"purpose\":\"Phát vở "
                       "và sách giáo khoa cho trẻ em\",\"in_kind\":true}",
                       NULL, 201));
    /* Lan's money goes to Lan: 3 000 000 of the 3 500 000. */
    json_t *earmarked = expect("POST", "/v1/fund/disbursements", commune_a,
                               "{\"unit\":\"29980\",\"amount_vnd\":3000000,\"disbursed_on\":"
                               "\"2020-06-20\",\"decision_no\":\"QĐ-13/UBND\","
                               "\"purpose\":\"Hỗ trợ học phí cho cháu Lan\",\"child_id\":\"" LAN
                               "\",\"earmarked\":true}",
                               NULL, 201);
    assert_true(json_is_true(json_object_get(earmarked, "earmarked")));
    json_decref(earmarked);
    overdraft = expect("POST", "/v1/fund/disbursements", commune_a,
                       "{\"unit\":\"29980\",\"amount_vnd\":600000,\"disbursed_on\":"
                       "\"2020-06-20\",\"decision_no\":\"QĐ-15/UBND\",\"purpose\":\"Sách vở\","
                       "\"child_id\":\"" LAN "\",\"earmarked\":true}",
                       NULL, 409);
    assert_int_equal(integer(overdraft, "available_vnd"), 500000);
    json_decref(overdraft);
    /* A deleted child is gone for the fund as for every child route. */
    assert_true(harness_query_equals(
        &database, "UPDATE children SET deleted_at = now() WHERE id = '" LAN "' RETURNING 1", "1"));
    json_decref(expect("POST", "/v1/fund/disbursements", commune_a,
                       "{\"unit\":\"29980\",\"amount_vnd\":100000,\"disbursed_on\":"
                       "\"2020-06-20\",\"decision_no\":\"QĐ-17/UBND\",\"purpose\":\"Sách vở\","
                       "\"child_id\":\"" LAN "\"}",
                       NULL, 404));
    assert_true(harness_query_equals(
        &database, "UPDATE children SET deleted_at = NULL WHERE id = '" LAN "' RETURNING 1", "1"));
}

static void commune_b_books(void)
{
    char body[1024];
    /* P3: 10 000 000 for scholarships, 5 000 000 due 2020-03-31 and 2020-08-31. */
    snprintf(body, sizeof body,
             "{\"donor_id\":\"%s\",\"unit\":\"29983\",\"year\":2020,\"amount_vnd\":10000000,"
             "\"pledged_on\":\"2020-02-01\",\"earmark\":{\"purpose\":\"Học bổng vượt khó\"},"
             "\"instalments\":[{\"due_on\":\"2020-03-31\",\"amount_vnd\":5000000},"
             "{\"due_on\":\"2020-08-31\",\"amount_vnd\":5000000}]}",
             donor_red_cross);
    create("/v1/fund/pledges", commune_b, body, NULL, pledge_p3);
    /* A plain donation of 1 500 000 from the same donor: general money. */
    snprintf(body, sizeof body,
             "{\"donor_id\":\"%s\",\"unit\":\"29983\",\"amount_vnd\":1500000,"
             "\"received_on\":\"2020-05-05\",\"method\":\"cash\",\"receipt_no\":\"LKB-04\"}",
             donor_red_cross);
    json_decref(pay(commune_b, body, 201));
}

static void commune_c_books(void)
{
    char body[1024], path[96];
    /* P4: 2 000 000 in two; 2 500 000 paid at once: 500 000 overpaid. */
    snprintf(body, sizeof body,
             "{\"donor_id\":\"%s\",\"unit\":\"29956\",\"year\":2020,\"amount_vnd\":2000000,"
             "\"pledged_on\":\"2020-06-01\",\"instalments\":["
             "{\"due_on\":\"2020-06-20\",\"amount_vnd\":1000000},"
             "{\"due_on\":\"2020-07-20\",\"amount_vnd\":1000000}]}",
             donor_hoa);
    create("/v1/fund/pledges", commune_c, body, NULL, pledge_p4);
    assert_pledge(pledge_p4, commune_c, "overdue", 0, 2000000, 0);
    snprintf(body, sizeof body,
             "{\"pledge_id\":\"%s\",\"unit\":\"29956\",\"amount_vnd\":2500000,"
             "\"received_on\":\"2020-06-25\",\"method\":\"cash\",\"receipt_no\":\"TP1-01\"}",
             pledge_p4);
    json_t *payment = pay(commune_c, body, 201);
    assert_int_equal(integer(payment, "applied_vnd"), 2000000);
    assert_int_equal(integer(payment, "overpaid_vnd"), 500000);
    json_decref(payment);
    assert_pledge(pledge_p4, commune_c, "completed", 2000000, 0, 500000);
    /* A completed pledge takes no more: all goes to overpaid. */

    /* P5: 1 000 000, 400 000 paid, then cancelled: the 400 000 stay raised. */
    snprintf(body, sizeof body,
             "{\"donor_id\":\"%s\",\"unit\":\"29956\",\"year\":2020,\"amount_vnd\":1000000,"
             "\"pledged_on\":\"2020-06-05\"}",
             donor_hoa);
    create("/v1/fund/pledges", commune_c, body, NULL, pledge_p5);
    assert_pledge(pledge_p5, commune_c, "pending", 0, 1000000, 0);
    snprintf(body, sizeof body,
             "{\"pledge_id\":\"%s\",\"unit\":\"29956\",\"amount_vnd\":400000,"
             "\"received_on\":\"2020-06-10\",\"method\":\"cash\",\"receipt_no\":\"TP1-02\"}",
             pledge_p5);
    json_decref(pay(commune_c, body, 201));
    assert_pledge(pledge_p5, commune_c, "in_progress", 400000, 600000, 0);
    snprintf(path, sizeof path, "/v1/fund/pledges/%s/cancel", pledge_p5);
    json_t *cancelled = expect("POST", path, commune_c,
                               "{\"reason\":\"Nhà hảo tâm chuyển công tác\"}", NULL, 200);
    assert_string_equal(json_text(cancelled, "status", NULL), "cancelled");
    assert_string_equal(json_text(cancelled, "cancelled_on", NULL), "2020-07-01");
    assert_int_equal(integer(cancelled, "paid_vnd"), 400000);
    assert_int_equal(integer(cancelled, "outstanding_vnd"), 0);
    json_decref(cancelled);
    json_decref(expect("POST", path, commune_c, "{}", NULL, 409));
    snprintf(path, sizeof path, "/v1/fund/pledges/%s", pledge_p5);
    json_decref(expect("PATCH", path, commune_c, "{\"note\":\"x\"}", "If-Match: \"2\"", 409));
    /* No more money against a cancelled pledge. */
    snprintf(body, sizeof body,
             "{\"pledge_id\":\"%s\",\"unit\":\"29956\",\"amount_vnd\":100000,"
             "\"received_on\":\"2020-06-30\",\"method\":\"cash\",\"receipt_no\":\"TP1-03\"}",
             pledge_p5);
    json_decref(pay(commune_c, body, 409));
}

static void district_books(void)
{
    char body[1024];
    /* P6: 50 000 000, half due 2020-03-31 (paid), half 2020-06-30 (late). */
    snprintf(body, sizeof body,
             "{\"donor_id\":\"%s\",\"unit\":\"870\",\"year\":2020,\"amount_vnd\":50000000,"
             "\"pledged_on\":\"2020-01-15\",\"instalments\":["
             "{\"due_on\":\"2020-03-31\",\"amount_vnd\":25000000},"
             "{\"due_on\":\"2020-06-30\",\"amount_vnd\":25000000}]}",
             donor_bank);
    create("/v1/fund/pledges", district, body, NULL, pledge_p6);
    snprintf(body, sizeof body,
             "{\"pledge_id\":\"%s\",\"unit\":\"870\",\"amount_vnd\":25000000,"
             "\"received_on\":\"2020-03-30\",\"method\":\"bank_transfer\","
             "\"receipt_no\":\"HN-001\"}",
             pledge_p6);
    json_decref(pay(district, body, 201));
    assert_pledge(pledge_p6, district, "overdue", 25000000, 25000000, 0);
}

static void books_of_three_communes_and_the_district(void **state)
{
    (void)state;
    donors();
    commune_a_books();
    commune_b_books();
    commune_c_books();
    district_books();
}

/* ---- two payments at once ------------------------------------------------------------ */

struct racing_payment {
    const char *body;
    const char *key;
    long status;
    long long applied;
};

static void *post_payment(void *context)
{
    struct racing_payment *payment = context;
    struct http_response *response = call_on(&api, "POST", "/v1/fund/payments", commune_b,
                                             payment->body, payment->key);
    payment->status = response->status;
    if (response->json != NULL && json_is_integer(json_object_get(response->json, "applied_vnd")))
        payment->applied = json_integer_value(json_object_get(response->json, "applied_vnd"));
    http_free(response);
    return NULL;
}

static void two_payments_at_once_apply_exactly_once(void **state)
{
    (void)state;
    char bodies[2][512];
    struct racing_payment payments[2];
    for (int i = 0; i < 2; i++) {
        snprintf(bodies[i], sizeof bodies[i],
                 "{\"pledge_id\":\"%s\",\"unit\":\"29983\",\"amount_vnd\":3000000,"
                 "\"received_on\":\"2020-04-01\",\"method\":\"cash\",\"receipt_no\":\"LKB-0%d\"}",
                 pledge_p3, i + 1);
        payments[i] = (struct racing_payment){.body = bodies[i],
                                              .key = i ? "Idempotency-Key: race-2"
                                                       : "Idempotency-Key: race-1"};
    }
    /* Hold P3's row so that both payments are in flight together, then let go. */
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT 1 FROM fund_pledges WHERE id = '%s' FOR UPDATE",
             pledge_p3);
    int waiters = harness_race(&database, sql, 2, post_payment, payments, sizeof payments[0]);
    assert_int_equal(waiters, 2);
    assert_int_equal(payments[0].status, 201);
    assert_int_equal(payments[1].status, 201);
    assert_int_equal(payments[0].applied + payments[1].applied, 6000000);
    /* 6 000 000: the first instalment (5 000 000) and 1 000 000 of the second. */
    json_t *document = pledge(pledge_p3, commune_b);
    json_t *instalments = json_object_get(document, "instalments");
    assert_int_equal(integer(json_array_get(instalments, 0), "paid_vnd"), 5000000);
    assert_int_equal(integer(json_array_get(instalments, 1), "paid_vnd"), 1000000);
    assert_int_equal(integer(document, "paid_vnd"), 6000000);
    assert_string_equal(json_text(document, "status", NULL), "in_progress");
    json_decref(document);
}

static void a_retried_payment_is_recorded_once(void **state)
{
    (void)state;
    char body[512];
    snprintf(body, sizeof body,
             "{\"pledge_id\":\"%s\",\"unit\":\"29983\",\"amount_vnd\":1000000,"
             "\"received_on\":\"2020-04-15\",\"method\":\"cash\",\"receipt_no\":\"LKB-03\"}",
             pledge_p3);
    const char *key = "Idempotency-Key: lkb-03-from-the-field";
    json_t *first = expect("POST", "/v1/fund/payments", commune_b, body, key, 201);
    struct http_response *again = call_on(&api, "POST", "/v1/fund/payments", commune_b, body,
                                          key);
    assert_int_equal(again->status, 201);
    assert_string_equal(http_header(again, "Idempotency-Replayed"), "true");
    assert_string_equal(json_text(again->json, "id", NULL), json_text(first, "id", NULL));
    http_free(again);
    json_decref(first);
    assert_pledge(pledge_p3, commune_b, "in_progress", 7000000, 3000000, 0);
    json_t *list = expect("GET", "/v1/fund/payments?unit=29983&status=applied", commune_b,
                          NULL, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 3);
    json_decref(list);
    /* Without a key a payment is refused; a receipt number is used once a year. */
    json_decref(expect("POST", "/v1/fund/payments", commune_b, body, NULL, 400));
    json_t *duplicate = pay(commune_b, body, 409);
    assert_string_equal(json_text(duplicate, "type", NULL), "/problems/conflict");
    assert_non_null(strstr(json_text(duplicate, "detail", NULL), "LKB-03"));
    json_decref(duplicate);
    /* Scholarship money (7 000 000) goes to scholarships: 4 000 000 now. */
    json_decref(expect("POST", "/v1/fund/disbursements", commune_b,
                       "{\"unit\":\"29983\",\"amount_vnd\":4000000,\"disbursed_on\":"
                       "\"2020-06-30\",\"decision_no\":\"QĐ-07/UBND\","
                       "\"purpose\":\"Học bổng vượt khó\",\"earmarked\":true}",
                       NULL, 201));
}

/* ---- the summary, by hand ------------------------------------------------------------- */

static void assert_figures(const json_t *figures, long long target, long long pledged,
                           long long raised, long long in_kind, long long outstanding,
                           long long overdue, long long disbursed, long long general,
                           long long earmarked, long long per_mille)
{
    assert_int_equal(integer(figures, "target_vnd"), target);
    assert_int_equal(integer(figures, "pledged_vnd"), pledged);
    assert_int_equal(integer(figures, "raised_vnd"), raised);
    assert_int_equal(integer(figures, "raised_in_kind_vnd"), in_kind);
    assert_int_equal(integer(figures, "raised_cash_vnd"), raised - in_kind);
    assert_int_equal(integer(figures, "outstanding_vnd"), outstanding);
    assert_int_equal(integer(figures, "overdue_vnd"), overdue);
    assert_int_equal(integer(figures, "disbursed_vnd"), disbursed);
    assert_int_equal(integer(json_object_get(figures, "balance"), "general_vnd"), general);
    assert_int_equal(integer(json_object_get(figures, "balance"), "earmarked_vnd"), earmarked);
    assert_int_equal(integer(figures, "progress_per_mille"), per_mille);
}

static const json_t *unit_figures(const json_t *summary, const char *code)
{
    const json_t *units = json_object_get(summary, "units");
    for (size_t i = 0; i < json_array_size(units); i++)
        if (strcmp(json_text(json_array_get(units, i), "unit", NULL), code) == 0)
            return json_array_get(units, i);
    fail_msg("no unit %s in the summary", code);
    return NULL;
}

static void the_summary_adds_up(void **state)
{
    (void)state;
    json_t *summary = expect("GET", "/v1/fund/summary?year=2020&unit=870", viewer, NULL, NULL,
                             200);
    assert_int_equal(json_array_size(json_object_get(summary, "units")), 11);
    /* District level, own books: P6 50 000 000 pledged, 25 000 000 paid;
     * the second 25 000 000 fell due 2020-06-30: overdue.  250 ‰ of 100 M. */
    assert_figures(unit_figures(summary, "870"), 100000000, 50000000, 25000000, 0, 25000000,
                   25000000, 0, 25000000, 0, 250);
    /* Long Khánh A: pledged P1 14 000 000 + P2 3 000 000 = 17 000 000;
     * raised 5 000 000 + 3 500 000 (500 000 over) + 2 000 000 in kind
     * = 10 500 000; outstanding P1 14 000 000 − 5 000 000 = 9 000 000, of
     * which overdue the second instalment's 4 000 000 − 1 000 000 =
     * 3 000 000; disbursed 4 000 000 + 3 000 000 (Lan) + 2 000 000 (the
     * books); general 5 000 000 + 2 000 000 − 4 000 000 − 2 000 000 =
     * 1 000 000; earmarked 3 500 000 − 3 000 000 = 500 000;
     * 10 500 000 × 1000 / 20 000 000 = 525 ‰. */
    assert_figures(unit_figures(summary, "29980"), 20000000, 17000000, 10500000, 2000000,
                   9000000, 3000000, 9000000, 1000000, 500000, 525);
    /* Long Khánh B: pledged P3 10 000 000; raised 3 000 000 × 2 + 1 000 000
     * + 1 500 000 (donation) = 8 500 000; outstanding 3 000 000, none due
     * yet (2020-08-31); disbursed 4 000 000 of the scholarship money;
     * general 1 500 000; earmarked 7 000 000 − 4 000 000 = 3 000 000;
     * 425 ‰. */
    assert_figures(unit_figures(summary, "29983"), 20000000, 10000000, 8500000, 0, 3000000, 0,
                   4000000, 1500000, 3000000, 425);
    /* Thường Phước 1: pledged P4 2 000 000 (P5 cancelled); raised
     * 2 500 000 + 400 000 = 2 900 000; nothing outstanding; general
     * 2 900 000; 145 ‰. */
    assert_figures(unit_figures(summary, "29956"), 20000000, 2000000, 2900000, 0, 0, 0, 0,
                   2900000, 0, 145);
    /* A commune without books: its target only. */
    assert_figures(unit_figures(summary, "29998"), 20000000, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    /* The district as a whole: 300 000 000 target; pledged 50 + 17 + 10 + 2
     * = 79 M; raised 25 + 10.5 + 8.5 + 2.9 = 46.9 M (2 M in kind);
     * outstanding 25 + 9 + 3 = 37 M; overdue 25 + 3 = 28 M; disbursed 9 + 4
     * = 13 M; general 25 + 1 + 1.5 + 2.9 = 30.4 M; earmarked 0.5 + 3 =
     * 3.5 M (and 46.9 − 13 = 30.4 + 3.5); 46 900 000 × 1000 / 300 000 000
     * = 156.33: 156 ‰. */
    assert_figures(json_object_get(summary, "total"), 300000000, 79000000, 46900000, 2000000,
                   37000000, 28000000, 13000000, 30400000, 3500000, 156);
    json_decref(summary);

    /* A commune's officer gets its own commune, by default. */
    summary = expect("GET", "/v1/fund/summary?year=2020", commune_a, NULL, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(summary, "units")), 1);
    assert_figures(json_object_get(summary, "total"), 20000000, 17000000, 10500000, 2000000,
                   9000000, 3000000, 9000000, 1000000, 500000, 525);
    json_decref(summary);

    /* The indicators' function, per unit and as of a date: on 2020-05-31
     * only P6, P1, P2 and P3 were pledged (50 + 14 + 3 + 10 = 77 M) and
     * 25 + 5 + 6 + 1 + 1.5 = 38.5 M received. */
    char value[64];
    sql_value("SELECT sum(target_vnd) || ' ' || sum(pledged_vnd) || ' ' || sum(raised_vnd) "
              "  FROM fund_unit_figures(2020, '2020-05-31')",
              value, sizeof value);
    assert_string_equal(value, "300000000 77000000 38500000");
    sql_value("SELECT sum(pledged_vnd) || ' ' || sum(raised_vnd) "
              "  FROM fund_unit_figures(2020, '2020-07-01')",
              value, sizeof value);
    assert_string_equal(value, "79000000 46900000");
    /* For reminders, on 2020-07-01 within 7 days: P1's second instalment
     * (3 000 000 open) and P6's second (25 000 000), both overdue; nothing
     * of the cancelled P5.  Within 62 days also P3's (due 2020-08-31). */
    sql_value("SELECT count(*) || ' ' || sum(amount_vnd - paid_vnd) "
              "  FROM fund_instalments_due('2020-07-01', 7)",
              value, sizeof value);
    assert_string_equal(value, "2 28000000");
    sql_value("SELECT count(*) FROM fund_instalments_due('2020-07-01', 62)", value,
              sizeof value);
    assert_string_equal(value, "3");
}

/* ---- the clock ------------------------------------------------------------------------ */

static void statuses_follow_the_clock(void **state)
{
    (void)state;
    /* On 2020-07-01 P3's second instalment (2020-08-31) is not due yet. */
    assert_pledge(pledge_p3, commune_b, "in_progress", 7000000, 3000000, 0);
    struct test_process later;
    const char *env[] = {"BAOVE_NOW=2020-10-01T09:00:00+07:00", NULL};
    assert_true(harness_start_api(&database, env, &later));
    char *token = harness_login(&later, "officer_lkb", "baove-demo");
    char path[96];
    snprintf(path, sizeof path, "/v1/fund/pledges/%s", pledge_p3);
    struct http_response *response = call_on(&later, "GET", path, token, NULL, NULL);
    assert_int_equal(response->status, 200);
    assert_string_equal(json_text(response->json, "status", NULL), "overdue");
    http_free(response);
    response = call_on(&later, "GET", "/v1/fund/pledges?status=overdue", token, NULL, NULL);
    assert_int_equal(json_array_size(json_object_get(response->json, "items")), 1);
    http_free(response);
    response = call_on(&later, "GET", "/v1/fund/summary?year=2020", token, NULL, NULL);
    assert_int_equal(integer(json_object_get(response->json, "total"), "overdue_vnd"), 3000000);
    http_free(response);
    free(token);
    assert_int_equal(harness_stop(&later), 0);
    /* Lists filter on the derived status. */
    json_t *list = expect("GET", "/v1/fund/pledges?status=overdue&year=2020", district, NULL,
                          NULL, 200);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 2); /* P1, P6 */
    json_decref(list);
    list = expect("GET", "/v1/fund/pledges?status=completed", district, NULL, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 2); /* P2, P4 */
    json_decref(list);
    list = expect("GET", "/v1/fund/pledges?status=cancelled&unit=29956", commune_c, NULL, NULL,
                  200);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
    json_decref(list);
    /* Pages of two, in id order, until next_cursor is null: all six. */
    char page[160] = "/v1/fund/pledges?limit=2";
    size_t seen = 0;
    for (int pages = 0; pages < 5; pages++) {
        list = expect("GET", page, district, NULL, NULL, 200);
        seen += json_array_size(json_object_get(list, "items"));
        const char *next = json_text(list, "next_cursor", NULL);
        if (next == NULL) {
            json_decref(list);
            break;
        }
        snprintf(page, sizeof page, "/v1/fund/pledges?limit=2&cursor=%s", next);
        json_decref(list);
    }
    assert_int_equal(seen, 6);
    json_decref(expect("GET", "/v1/fund/pledges?status=late", district, NULL, NULL, 400));
    json_decref(expect("GET", "/v1/fund/donors?status=active", district, NULL, NULL, 400));
    json_decref(expect("GET", "/v1/fund/payments?cursor=nope", district, NULL, NULL, 400));
}

/* ---- bad input --------------------------------------------------------------------------- */

static void amounts_are_whole_dong(void **state)
{
    (void)state;
    const char *amounts[] = {"0", "-5", "100.5", "1e6", "\"100\"", "1000000000001", "1.0",
                             "null"};
    for (size_t i = 0; i < sizeof amounts / sizeof amounts[0]; i++) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"unit\":\"29980\",\"amount_vnd\":%s,\"received_on\":\"2020-06-01\","
                 "\"method\":\"cash\",\"receipt_no\":\"BAD-%zu\"}",
                 amounts[i], i);
        json_t *refused = pay(commune_a, body, 422);
        json_t *errors = json_object_get(refused, "errors");
        assert_int_equal(json_array_size(errors), 1);
        assert_string_equal(json_text(json_array_get(errors, 0), "pointer", NULL),
                            "/amount_vnd");
        json_decref(refused);
    }
    /* Every bad field at once, down to the instalments. */
    json_t *refused = expect(
        "POST", "/v1/fund/pledges", commune_a,
        "{\"donor_id\":\"6b6c9d7a-5ad5-4ab8-8a76-c09f7d8b9ca3\",\"unit\":\"29980\","
        "\"year\":2020,\"amount_vnd\":100.5,\"pledged_on\":\"2020-02-30\","
        "\"instalments\":[{\"due_on\":\"2020-03-01\",\"amount_vnd\":\"100\"}]}",
        NULL, 422);
    json_t *errors = json_object_get(refused, "errors");
    assert_int_equal(json_array_size(errors), 2);
    assert_string_equal(json_text(json_array_get(errors, 0), "pointer", NULL), "/amount_vnd");
    assert_string_equal(json_text(json_array_get(errors, 1), "pointer", NULL), "/pledged_on");
    json_decref(refused);
    refused = expect("POST", "/v1/fund/pledges", commune_a,
                     "{\"donor_id\":\"6b6c9d7a-5ad5-4ab8-8a76-c09f7d8b9ca3\",\"unit\":\"29980\","
                     "\"year\":2020,\"amount_vnd\":1000,\"pledged_on\":\"2020-02-01\","
                     "\"instalments\":[{\"due_on\":\"2020-01-01\",\"amount_vnd\":400},"
                     "{\"due_on\":\"2020-03-01\",\"amount_vnd\":1e3}]}",
                     NULL, 422);
    errors = json_object_get(refused, "errors");
    assert_int_equal(json_array_size(errors), 2);
    assert_string_equal(json_text(json_array_get(errors, 0), "pointer", NULL),
                        "/instalments/0/due_on");
    assert_string_equal(json_text(json_array_get(errors, 1), "pointer", NULL),
                        "/instalments/1/amount_vnd");
    json_decref(refused);
    /* Instalments that do not add up; an earmark naming both or neither. */
    refused = expect("POST", "/v1/fund/pledges", commune_a,
                     "{\"donor_id\":\"6b6c9d7a-5ad5-4ab8-8a76-c09f7d8b9ca3\",\"unit\":\"29980\","
                     "\"year\":2020,\"amount_vnd\":1000,\"pledged_on\":\"2020-02-01\","
                     "\"earmark\":{},\"instalments\":[{\"due_on\":\"2020-03-01\","
                     "\"amount_vnd\":600}]}",
                     NULL, 422);
    errors = json_object_get(refused, "errors");
    assert_int_equal(json_array_size(errors), 2);
    assert_string_equal(json_text(json_array_get(errors, 0), "pointer", NULL), "/earmark");
    assert_string_equal(json_text(json_array_get(errors, 1), "pointer", NULL), "/instalments");
    json_decref(refused);
    /* Goods need a description; money must not have one. */
    refused = pay(commune_a,
                  "{\"unit\":\"29980\",\"amount_vnd\":5,\"received_on\":\"2020-06-01\","
                  "\"method\":\"in_kind\",\"receipt_no\":\"BAD-G\"}",
                  422);
    assert_string_equal(json_text(json_array_get(json_object_get(refused, "errors"), 0),
                                  "pointer", NULL), "/in_kind_description");
    json_decref(refused);
    /* Nothing in the future. */
    json_decref(expect("POST", "/v1/fund/disbursements", commune_a,
                       "{\"unit\":\"29980\",\"amount_vnd\":1,\"disbursed_on\":\"2020-07-02\","
                       "\"decision_no\":\"Q\",\"purpose\":\"P\"}",
                       NULL, 422));
}

/* ---- who may ----------------------------------------------------------------------------- */

static void scope_and_roles(void **state)
{
    (void)state;
    char path[96], body[512];
    /* Long Khánh A's officer does not see Long Khánh B's books at all. */
    snprintf(path, sizeof path, "/v1/fund/donors/%s", donor_red_cross);
    json_decref(expect("GET", path, commune_a, NULL, NULL, 404));
    json_decref(expect("PATCH", path, commune_a, "{\"name\":\"X\"}", "If-Match: \"1\"", 404));
    snprintf(path, sizeof path, "/v1/fund/pledges/%s", pledge_p3);
    json_decref(expect("GET", path, commune_a, NULL, NULL, 404));
    snprintf(path, sizeof path, "/v1/fund/pledges/%s/cancel", pledge_p3);
    json_decref(expect("POST", path, commune_a, "{}", NULL, 404));
    json_decref(expect("GET", "/v1/fund/pledges/not-a-uuid", commune_a, NULL, NULL, 404));
    snprintf(body, sizeof body,
             "{\"pledge_id\":\"%s\",\"unit\":\"29980\",\"amount_vnd\":1000,"
             "\"received_on\":\"2020-06-01\",\"method\":\"cash\",\"receipt_no\":\"X-1\"}",
             pledge_p3);
    json_decref(pay(commune_a, body, 404));
    snprintf(body, sizeof body,
             "{\"donor_id\":\"%s\",\"unit\":\"29980\",\"year\":2020,\"amount_vnd\":1000,"
             "\"pledged_on\":\"2020-06-01\"}",
             donor_red_cross);
    json_decref(expect("POST", "/v1/fund/pledges", commune_a, body, NULL, 404));
    json_decref(expect("POST", "/v1/fund/donors", commune_a,
                       "{\"unit\":\"29983\",\"kind\":\"individual\",\"name\":\"X\"}", NULL,
                       422));
    json_decref(expect("GET", "/v1/fund/donors?unit=29983", commune_a, NULL, NULL, 404));
    json_decref(expect("GET", "/v1/fund/summary?unit=870", commune_a, NULL, NULL, 404));
    json_decref(expect("GET", "/v1/fund/disclosure?unit=29983", commune_a, NULL, NULL, 404));
    /* Its own lists hold its own records only. */
    json_t *list = expect("GET", "/v1/fund/donors", commune_a, NULL, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 2);
    json_decref(list);
    list = expect("GET", "/v1/fund/donors?year=2020", district, NULL, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 5);
    json_decref(list);
    list = expect("GET", "/v1/fund/disbursements?unit=29980&status=earmarked", district, NULL,
                  NULL, 200);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
    /* One record of each kind, read by its commune and refused to another. */
    snprintf(path, sizeof path, "/v1/fund/disbursements/%s",
             json_text(json_array_get(json_object_get(list, "items"), 0), "id", NULL));
    json_decref(list);
    json_t *record = expect("GET", path, commune_a, NULL, NULL, 200);
    assert_int_equal(integer(record, "amount_vnd"), 3000000);
    json_decref(record);
    json_decref(expect("GET", path, commune_b, NULL, NULL, 404));
    list = expect("GET", "/v1/fund/payments?unit=29980&status=overpaid", commune_a, NULL, NULL,
                  200);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 1); /* PT-002 */
    snprintf(path, sizeof path, "/v1/fund/payments/%s",
             json_text(json_array_get(json_object_get(list, "items"), 0), "id", NULL));
    json_decref(list);
    record = expect("GET", path, commune_a, NULL, NULL, 200);
    assert_string_equal(json_text(record, "receipt_no", NULL), "PT-002");
    json_decref(record);
    json_decref(expect("GET", path, commune_c, NULL, NULL, 404));
    snprintf(path, sizeof path, "/v1/fund/donors/%s", donor_red_cross);
    json_decref(expect("GET", path, district, NULL, NULL, 200));

    /* The viewer (finance office) and the chair: figures, never donors. */
    const char *figure_paths[] = {"/v1/fund/summary?year=2020", "/v1/fund/disclosure?year=2020",
                                  "/v1/fund/targets?year=2020"};
    for (size_t i = 0; i < 3; i++) {
        json_decref(expect("GET", figure_paths[i], viewer, NULL, NULL, 200));
        json_decref(expect("GET", figure_paths[i], chair, NULL, NULL, 200));
    }
    const char *book_paths[] = {"/v1/fund/donors", "/v1/fund/pledges", "/v1/fund/payments",
                                "/v1/fund/disbursements"};
    for (size_t i = 0; i < 4; i++) {
        json_decref(expect("GET", book_paths[i], viewer, NULL, NULL, 403));
        json_decref(expect("GET", book_paths[i], chair, NULL, NULL, 403));
    }
    json_decref(expect("POST", "/v1/fund/donors", viewer,
                       "{\"unit\":\"870\",\"kind\":\"individual\",\"name\":\"X\"}", NULL, 403));
    /* Donor reads are audited, refusals too. */
    char value[32];
    sql_value("SELECT count(*) FILTER (WHERE action = 'read' AND outcome = 'success') || ' ' || "
              "       count(*) FILTER (WHERE outcome = 'not_found') || ' ' || "
              "       count(*) FILTER (WHERE outcome = 'denied') "
              "  FROM audit_log WHERE resource_type = 'fund_donors'",
              value, sizeof value);
    assert_string_equal(value, "1 3 3"); /* GET by the district; 404 ×3 (GET, PATCH, list); 403 ×3 */
}

/* ---- the public statement --------------------------------------------------------------- */

static void the_public_statement(void **state)
{
    (void)state;
    json_t *statement = expect("GET", "/v1/fund/disclosure?year=2020&unit=870", viewer, NULL,
                               NULL, 200);
    assert_int_equal(integer(statement, "total_receipts_vnd"), 46900000);
    assert_int_equal(integer(statement, "total_spending_vnd"), 13000000);
    assert_int_equal(integer(statement, "balance_vnd"), 33900000);
    json_t *receipts = json_object_get(statement, "receipts");
    assert_int_equal(json_array_size(receipts), 10);
    /* In date order: HN-001 (03-30) first; PT-002 (anonymous donor, for a
     * child) and PT-003 (no donor record) on 2020-06-01. */
    assert_string_equal(json_text(json_array_get(receipts, 0), "receipt_no", NULL), "HN-001");
    assert_string_equal(json_text(json_array_get(receipts, 0), "donor", NULL),
                        "Ngân hàng Nông nghiệp chi nhánh Hồng Ngự");
    int anonymous = 0;
    for (size_t i = 0; i < json_array_size(receipts); i++) {
        const json_t *line = json_array_get(receipts, i);
        if (strcmp(json_text(line, "receipt_no", NULL), "PT-002") == 0) {
            assert_string_equal(json_text(line, "earmark", NULL),
                                "hỗ trợ trẻ em có hoàn cảnh đặc biệt");
        }
        anonymous += strcmp(json_text(line, "donor", NULL), "Nhà hảo tâm ẩn danh") == 0;
    }
    assert_int_equal(anonymous, 2);
    json_t *spending = json_object_get(statement, "spending");
    assert_int_equal(json_array_size(spending), 4);
    char *text = json_dumps(statement, 0);
    /* No phone, no address, no child's name, no donor who asked not to be named. */
    assert_null(strstr(text, "0912888777"));
    assert_null(strstr(text, "Ấp Long"));
    assert_null(strstr(text, "Lan"));
    assert_null(strstr(text, "Nguyễn Văn Tâm"));
    free(text);
    json_decref(statement);

    const char *accept = "Accept: text/csv";
    struct http_response *csv = call_on(&api, "GET", "/v1/fund/disclosure?year=2020&unit=29980",
                                        viewer, NULL, accept);
    assert_int_equal(csv->status, 200);
    assert_string_equal(csv->content_type, "text/csv; charset=utf-8");
    const char *header = "\xEF\xBB\xBF" "Loại,Ngày,Đơn vị,Số chứng từ,Nhà hảo tâm,Nội dung,"
                         "Hình thức,Số tiền (đồng)\r\n";
    assert_memory_equal(csv->body, header, strlen(header));
    /* The gift in kind, then the totals of Long Khánh A. */
    assert_non_null(strstr(csv->body, "Thu,2020-06-01,Xã Long Khánh A,PT-003,Nhà hảo tâm ẩn "
                                      "danh,\"200 cuốn vở, 50 bộ sách giáo khoa\",Hiện vật,"
                                      "2000000\r\n"));
    assert_non_null(strstr(csv->body, "Chi,2020-06-25,Xã Long Khánh A,QĐ-16/UBND,,Phát vở và "
                                      "sách giáo khoa cho trẻ em,Hiện vật,2000000\r\n"));
    assert_non_null(strstr(csv->body, "Tổng thu,,,,,,,10500000\r\nTổng chi,,,,,,,9000000\r\n"
                                      "Còn lại,,,,,,,1500000\r\n"));
    assert_null(strstr(csv->body, "Lan"));
    http_free(csv);

    /* The same with ';' for Excel set to Vietnamese. */
    csv = call_on(&api, "GET", "/v1/fund/disclosure?year=2020&unit=29980&delimiter=semicolon",
                  viewer, NULL, accept);
    assert_non_null(strstr(csv->body, "Tổng thu;;;;;;;10500000\r\n"));
    http_free(csv);

    /* As .xlsx: the statement with date and VND cells, and each unit's
     * target against what it raised, charted. */
    struct http_response *xlsx = call_on(
        &api, "GET", "/v1/fund/disclosure?year=2020&unit=870", district, NULL,
        "Accept: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    assert_int_equal(xlsx->status, 200);
    char *workbook = harness_zip_part(xlsx, "xl/workbook.xml");
    char *strings = harness_zip_part(xlsx, "xl/sharedStrings.xml");
    char *statement_sheet = harness_zip_part(xlsx, "xl/worksheets/sheet1.xml");
    char *books_sheet = harness_zip_part(xlsx, "xl/worksheets/sheet2.xml");
    char *styles = harness_zip_part(xlsx, "xl/styles.xml");
    char *chart = harness_zip_part(xlsx, "xl/charts/chart1.xml");
    assert_non_null(workbook);
    assert_non_null(chart);
    assert_non_null(strstr(workbook, "name=\"Công khai thu chi\""));
    assert_non_null(strstr(workbook, "name=\"Vận động theo xã\""));
    assert_non_null(strstr(strings, "Số tiền (đồng)"));
    assert_non_null(strstr(strings, "Xã Long Khánh A"));
    assert_non_null(strstr(statement_sheet, "state=\"frozen\""));
    assert_non_null(strstr(statement_sheet, "<v>2000000</v>")); /* an amount, a number */
    assert_non_null(strstr(statement_sheet, "<v>43983</v>")); /* 2020-06-01, a date */
    assert_non_null(strstr(styles, "formatCode=\"#,##0 &quot;₫&quot;\""));
    assert_non_null(strstr(books_sheet, "<v>20000000</v>")); /* a commune's target */
    assert_non_null(strstr(chart, "<c:barChart>"));
    assert_non_null(strstr(chart, "<c:v>Đã thu</c:v>"));
    assert_non_null(strstr(chart, "'Vận động theo xã'!$D$2:$D$"));
    free(workbook);
    free(strings);
    free(statement_sheet);
    free(books_sheet);
    free(styles);
    free(chart);
    http_free(xlsx);
}

/* ---- the change feed --------------------------------------------------------------------- */

static void fund_entries_reach_the_district_only(void **state)
{
    (void)state;
    json_t *feed = expect("GET", "/v1/changes?types=fund&limit=1000", district, NULL, NULL, 200);
    json_t *items = json_object_get(feed, "items");
    assert_true(json_array_size(items) > 20); /* the snapshot: every fund record */
    size_t targets = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *entry = json_array_get(items, i);
        assert_string_equal(json_text(entry, "type", NULL), "fund");
        assert_true(json_is_null(json_object_get(entry, "child_id")));
        targets += strcmp(json_text(entry, "record", "kind", NULL), "target") == 0;
    }
    assert_true(targets >= 1);
    json_decref(feed);
    /* The commune's officer follows the feed of its commune, without money. */
    feed = expect("GET", "/v1/changes?limit=1000", commune_a, NULL, NULL, 200);
    items = json_object_get(feed, "items");
    assert_true(json_array_size(items) >= 1); /* Lan */
    for (size_t i = 0; i < json_array_size(items); i++)
        assert_string_not_equal(json_text(json_array_get(items, i), "type", NULL), "fund");
    json_decref(feed);
}

/* ---- voiding a payment entered by mistake ------------------------------------------------- */

/* Finds the payment's last entry in the fund feed. */
static json_t *last_feed_document(const char *payment_id)
{
    json_t *feed = expect("GET", "/v1/changes?types=fund&limit=1000", district, NULL, NULL, 200);
    json_t *items = json_object_get(feed, "items"), *found = NULL;
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *document = json_object_get(json_object_get(json_array_get(items, i), "record"),
                                           "document");
        const char *id = json_text(document, "id", NULL);
        if (id != NULL && strcmp(id, payment_id) == 0) {
            json_decref(found);
            found = json_incref(document);
        }
    }
    json_decref(feed);
    if (found == NULL)
        fail_msg("no feed entry for payment %s", payment_id);
    return found;
}

/* Thường Phước 2 (29974), the district's officer writing: a pledge P7 of
 * 2 000 000 in two instalments (1 000 000 due 2020-05-31, 1 000 000 due
 * 2020-08-31); A, 5 000 000 received 2020-06-01, was typed for 500 000;
 * B, 500 000 received 2020-06-15; E, a donation of 800 000 earmarked for
 * wheelchairs, of which 600 000 were spent.  A general disbursement of
 * 300 000 leaves the general pool 5 500 000 − 300 000 = 5 200 000. */
static void a_mistaken_payment_is_voided(void **state)
{
    (void)state;
    char donor[40], pledge_p7[40], payment_a[40], payment_b[40], payment_e[40], body[1024],
        path[128], value[64];
    create("/v1/fund/donors", district,
           "{\"unit\":\"29974\",\"kind\":\"individual\",\"name\":\"Phạm Văn Hùng\"}", NULL, donor);
    snprintf(body, sizeof body,
             "{\"donor_id\":\"%s\",\"unit\":\"29974\",\"year\":2020,\"amount_vnd\":2000000,"
             "\"pledged_on\":\"2020-05-01\",\"instalments\":["
             "{\"due_on\":\"2020-05-31\",\"amount_vnd\":1000000},"
             "{\"due_on\":\"2020-08-31\",\"amount_vnd\":1000000}]}",
             donor);
    create("/v1/fund/pledges", district, body, NULL, pledge_p7);
    /* A: both instalments in full, 3 000 000 over. */
    snprintf(body, sizeof body,
             "{\"pledge_id\":\"%s\",\"unit\":\"29974\",\"amount_vnd\":5000000,"
             "\"received_on\":\"2020-06-01\",\"method\":\"cash\",\"receipt_no\":\"TP2-001\"}",
             pledge_p7);
    json_t *payment = pay(district, body, 201);
    snprintf(payment_a, sizeof payment_a, "%s", json_text(payment, "id", NULL));
    assert_int_equal(integer(payment, "applied_vnd"), 2000000);
    assert_int_equal(integer(payment, "overpaid_vnd"), 3000000);
    assert_true(json_is_null(json_object_get(payment, "voided_on")));
    json_decref(payment);
    /* B: nothing left open, all of it over. */
    snprintf(body, sizeof body,
             "{\"pledge_id\":\"%s\",\"unit\":\"29974\",\"amount_vnd\":500000,"
             "\"received_on\":\"2020-06-15\",\"method\":\"cash\",\"receipt_no\":\"TP2-002\"}",
             pledge_p7);
    payment = pay(district, body, 201);
    snprintf(payment_b, sizeof payment_b, "%s", json_text(payment, "id", NULL));
    assert_int_equal(integer(payment, "applied_vnd"), 0);
    assert_int_equal(integer(payment, "overpaid_vnd"), 500000);
    json_decref(payment);
    assert_pledge(pledge_p7, district, "completed", 2000000, 0, 3500000);
    payment = pay(district,
                  "{\"unit\":\"29974\",\"amount_vnd\":800000,\"received_on\":\"2020-06-10\","
                  "\"method\":\"bank_transfer\",\"receipt_no\":\"TP2-003\","
                  "\"earmark\":{\"purpose\":\"Mua xe lăn\"}}",
                  201);
    snprintf(payment_e, sizeof payment_e, "%s", json_text(payment, "id", NULL));
    json_decref(payment);
    json_decref(expect("POST", "/v1/fund/disbursements", district,
                       "{\"unit\":\"29974\",\"amount_vnd\":600000,\"disbursed_on\":\"2020-06-20\","
                       "\"decision_no\":\"QĐ-21/UBND\",\"purpose\":\"Mua xe lăn\","
                       "\"earmarked\":true}",
                       NULL, 201));
    json_decref(expect("POST", "/v1/fund/disbursements", district,
                       "{\"unit\":\"29974\",\"amount_vnd\":300000,\"disbursed_on\":\"2020-06-20\","
                       "\"decision_no\":\"QĐ-22/UBND\",\"purpose\":\"Quà Tết thiếu nhi\"}",
                       NULL, 201));
    /* Raised 5 000 000 + 500 000 + 800 000 = 6 300 000 (315 ‰ of 20 000 000);
     * general 5 200 000; earmarked 800 000 − 600 000 = 200 000. */
    json_t *summary = expect("GET", "/v1/fund/summary?year=2020&unit=29974", viewer, NULL, NULL,
                             200);
    assert_figures(unit_figures(summary, "29974"), 20000000, 2000000, 6300000, 0, 0, 0, 900000,
                   5200000, 200000, 315);
    json_decref(summary);

    /* Refusals first: a body without reason 422, no If-Match 428, a stale
     * one 412, outside the scope 404, a viewer 403. */
    snprintf(path, sizeof path, "/v1/fund/payments/%s/void", payment_a);
    json_decref(expect("POST", path, district, "{}", "If-Match: \"1\"", 422));
    json_decref(expect("POST", path, district, "{\"reason\":\"\"}", "If-Match: \"1\"", 422));
    json_t *refused = expect("POST", path, district, "{\"reason\":\"Nhập nhầm số tiền\"}", NULL,
                             428);
    assert_string_equal(json_text(refused, "type", NULL), "/problems/precondition-required");
    json_decref(refused);
    json_decref(expect("POST", path, district, "{\"reason\":\"Nhập nhầm số tiền\"}",
                       "If-Match: \"7\"", 412));
    json_decref(expect("POST", path, commune_c, "{\"reason\":\"Nhập nhầm số tiền\"}",
                       "If-Match: \"1\"", 404));
    json_decref(expect("POST", path, viewer, "{\"reason\":\"Nhập nhầm số tiền\"}",
                       "If-Match: \"1\"", 403));
    /* E's 800 000 are 600 000 spent: its pool holds 200 000, 600 000 short. */
    snprintf(path, sizeof path, "/v1/fund/payments/%s/void", payment_e);
    refused = expect("POST", path, district, "{\"reason\":\"Nhập trùng\"}", "If-Match: \"1\"",
                     409);
    assert_string_equal(json_text(refused, "type", NULL), "/problems/conflict");
    assert_int_equal(integer(refused, "available_vnd"), 200000);
    assert_int_equal(integer(refused, "shortfall_vnd"), 600000);
    assert_non_null(strstr(json_text(refused, "detail", NULL), "600000 đồng short"));
    json_decref(refused);

    /* The void: A counts nowhere; B now pays the first instalment. */
    snprintf(path, sizeof path, "/v1/fund/payments/%s/void", payment_a);
    struct http_response *voided = call_on(&api, "POST", path, district,
                                           "{\"reason\":\"Nhập nhầm 5 000 000 thay vì 500 000\"}",
                                           "If-Match: \"1\"");
    assert_int_equal(voided->status, 200);
    assert_string_equal(http_header(voided, "ETag"), "\"2\"");
    assert_string_equal(json_text(voided->json, "voided_on", NULL), "2020-07-01");
    assert_string_equal(json_text(voided->json, "void_reason", NULL),
                        "Nhập nhầm 5 000 000 thay vì 500 000");
    assert_string_equal(json_text(voided->json, "receipt_no", NULL), "TP2-001");
    http_free(voided);
    /* Paid 500 000 of the first instalment (due 2020-05-31: overdue), none
     * of the second; outstanding 1 500 000; nothing over. */
    assert_pledge(pledge_p7, district, "overdue", 500000, 1500000, 0);
    json_t *document = pledge(pledge_p7, district);
    json_t *instalments = json_object_get(document, "instalments");
    assert_int_equal(integer(json_array_get(instalments, 0), "paid_vnd"), 500000);
    assert_string_equal(json_text(json_array_get(instalments, 0), "status", NULL), "overdue");
    assert_int_equal(integer(json_array_get(instalments, 1), "paid_vnd"), 0);
    json_decref(document);
    snprintf(path, sizeof path, "/v1/fund/payments/%s", payment_b);
    struct http_response *moved = call_on(&api, "GET", path, district, NULL, NULL);
    assert_int_equal(moved->status, 200);
    assert_string_equal(http_header(moved, "ETag"), "\"2\"");
    assert_int_equal(integer(moved->json, "applied_vnd"), 500000);
    assert_int_equal(integer(moved->json, "overpaid_vnd"), 0);
    http_free(moved);
    /* What the reminders read: the first instalment, 500 000 of 1 000 000. */
    snprintf(body, sizeof body,
             "SELECT paid_vnd FROM fund_instalments_due('2020-07-01', 0) "
             " WHERE pledge_id = '%s'", pledge_p7);
    sql_value(body, value, sizeof value);
    assert_string_equal(value, "500000");

    /* Raised 500 000 + 800 000 = 1 300 000 (65 ‰); outstanding 1 500 000,
     * overdue 500 000; general 500 000 − 300 000 = 200 000. */
    summary = expect("GET", "/v1/fund/summary?year=2020&unit=29974", viewer, NULL, NULL, 200);
    assert_figures(unit_figures(summary, "29974"), 20000000, 2000000, 1300000, 0, 1500000,
                   500000, 900000, 200000, 200000, 65);
    json_decref(summary);
    /* A's money is no longer there to spend. */
    refused = expect("POST", "/v1/fund/disbursements", district,
                     "{\"unit\":\"29974\",\"amount_vnd\":300000,\"disbursed_on\":\"2020-07-01\","
                     "\"decision_no\":\"QĐ-23/UBND\",\"purpose\":\"Quà Trung thu\"}",
                     NULL, 409);
    assert_int_equal(integer(refused, "available_vnd"), 200000);
    json_decref(refused);
    json_t *statement = expect("GET", "/v1/fund/disclosure?year=2020&unit=29974", viewer, NULL,
                               NULL, 200);
    assert_int_equal(integer(statement, "total_receipts_vnd"), 1300000);
    json_t *receipts = json_object_get(statement, "receipts");
    assert_int_equal(json_array_size(receipts), 2);
    assert_string_equal(json_text(json_array_get(receipts, 0), "receipt_no", NULL), "TP2-003");
    assert_string_equal(json_text(json_array_get(receipts, 1), "receipt_no", NULL), "TP2-002");
    json_decref(statement);

    /* Still listed, as voided; its receipt number stays used. */
    json_t *list = expect("GET", "/v1/fund/payments?unit=29974&status=voided", district, NULL,
                          NULL, 200);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
    assert_string_equal(json_text(json_array_get(json_object_get(list, "items"), 0), "id", NULL),
                        payment_a);
    json_decref(list);
    list = expect("GET", "/v1/fund/payments?unit=29974&status=overpaid", district, NULL, NULL,
                  200);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 0);
    json_decref(list);
    snprintf(body, sizeof body,
             "{\"pledge_id\":\"%s\",\"unit\":\"29974\",\"amount_vnd\":500000,"
             "\"received_on\":\"2020-06-01\",\"method\":\"cash\",\"receipt_no\":\"TP2-001\"}",
             pledge_p7);
    json_decref(pay(district, body, 409));

    /* Twice: 409. */
    snprintf(path, sizeof path, "/v1/fund/payments/%s/void", payment_a);
    refused = expect("POST", path, district, "{\"reason\":\"lần nữa\"}", "If-Match: \"2\"", 409);
    assert_non_null(strstr(json_text(refused, "detail", NULL), "already voided"));
    json_decref(refused);

    /* The feed carries the void and B's new allocation. */
    document = last_feed_document(payment_a);
    assert_string_equal(json_text(document, "voided_on", NULL), "2020-07-01");
    json_decref(document);
    document = last_feed_document(payment_b);
    assert_int_equal(integer(document, "applied_vnd"), 500000);
    json_decref(document);
    snprintf(body, sizeof body,
             "SELECT count(*) FILTER (WHERE outcome = 'success') || ' ' || "
             "       count(*) FILTER (WHERE outcome <> 'success') FROM audit_log "
             " WHERE action = 'update' AND resource_type = 'fund_payments' "
             "   AND resource_ids = '{%s}'", payment_a);
    sql_value(body, value, sizeof value);
    /* The void; refused: 422 ×2, 428, 412, 404, 409 (twice) — the 403 is
     * audited as `denied` by the router. */
    assert_string_equal(value, "1 6");
}

/* ---- what a record may name -------------------------------------------------------------- */

/* Fails unless the problem is a 422 validation with one error, on pointer. */
static void assert_one_field_error(const json_t *problem, const char *pointer)
{
    assert_string_equal(json_text(problem, "type", NULL), "/problems/validation");
    const json_t *errors = json_object_get(problem, "errors");
    assert_int_equal(json_array_size(errors), 1);
    assert_string_equal(json_text(json_array_get(errors, 0), "pointer", NULL), pointer);
}

/* The district's officer sees the children of every commune, but Long
 * Khánh B's books may not name Lan, a child of Long Khánh A: not as the
 * child a disbursement goes to, nor as the earmark of a donation or a
 * pledge (422 on the child's pointer, audited naming her).  The district's
 * own books may: she is registered under it.  A child the writer cannot
 * see at all stays a 404. */
static void a_record_names_a_child_of_its_books(void **state)
{
    (void)state;
    char body[1024], value[32];
    json_t *refused = expect("POST", "/v1/fund/disbursements", district,
                             "{\"unit\":\"29983\",\"amount_vnd\":1000,\"disbursed_on\":"
                             "\"2020-06-30\",\"decision_no\":\"QĐ-30/UBND\",\"purpose\":"
                             "\"Sách vở\",\"child_id\":\"" LAN "\"}",
                             NULL, 422);
    assert_one_field_error(refused, "/child_id");
    assert_string_equal(json_text(json_array_get(json_object_get(refused, "errors"), 0),
                                  "detail", NULL), "must be a child of the unit's books");
    json_decref(refused);
    refused = pay(district,
                  "{\"unit\":\"29983\",\"amount_vnd\":1000,\"received_on\":\"2020-06-30\","
                  "\"method\":\"cash\",\"receipt_no\":\"LKB-90\","
                  "\"earmark\":{\"child_id\":\"" LAN "\"}}",
                  422);
    assert_one_field_error(refused, "/earmark/child_id");
    json_decref(refused);
    snprintf(body, sizeof body,
             "{\"donor_id\":\"%s\",\"unit\":\"29983\",\"year\":2020,\"amount_vnd\":1000,"
             "\"pledged_on\":\"2020-06-30\",\"earmark\":{\"child_id\":\"" LAN "\"}}",
             donor_red_cross);
    refused = expect("POST", "/v1/fund/pledges", district, body, NULL, 422);
    assert_one_field_error(refused, "/earmark/child_id");
    json_decref(refused);
    /* The three refusals name Lan in the audit log. */
    sql_value("SELECT count(*) FROM audit_log WHERE outcome = 'invalid' "
              "   AND resource_ids = '{" LAN "}' AND resource_type IN "
              "       ('fund_disbursements', 'fund_payments', 'fund_pledges')",
              value, sizeof value);
    assert_string_equal(value, "3");

    /* The district's own books cover the children of its communes. */
    json_t *disbursement = expect("POST", "/v1/fund/disbursements", district,
                                  "{\"unit\":\"870\",\"amount_vnd\":1000,\"disbursed_on\":"
                                  "\"2020-06-30\",\"decision_no\":\"QĐ-31/UBND\","
                                  "\"purpose\":\"Sách vở\",\"child_id\":\"" LAN "\"}",
                                  NULL, 201);
    assert_string_equal(json_text(disbursement, "child_id", NULL), LAN);
    json_decref(disbursement);
    /* Long Khánh B's officer does not see Lan: no such child. */
    refused = expect("POST", "/v1/fund/disbursements", commune_b,
                     "{\"unit\":\"29983\",\"amount_vnd\":1000,\"disbursed_on\":"
                     "\"2020-06-30\",\"decision_no\":\"QĐ-32/UBND\",\"purpose\":"
                     "\"Sách vở\",\"child_id\":\"" LAN "\"}",
                     NULL, 404);
    assert_string_equal(json_text(refused, "type", NULL), "/problems/not-found");
    json_decref(refused);
}

/* ---- the years of the books ----------------------------------------------------------- */

/* A payment's or a disbursement's year is the year of its date, and the
 * books hold the years 2000 to 2100: an entry dated 1999 is a 422 on its
 * date (it was an internal error: the row's year CHECK failed). */
static void an_entry_before_2000_is_refused(void **state)
{
    (void)state;
    json_t *refused = pay(district,
                          "{\"unit\":\"870\",\"amount_vnd\":1000,\"received_on\":"
                          "\"1999-12-31\",\"method\":\"cash\",\"receipt_no\":\"HN-1999\"}",
                          422);
    assert_one_field_error(refused, "/received_on");
    json_decref(refused);
    refused = expect("POST", "/v1/fund/disbursements", district,
                     "{\"unit\":\"870\",\"amount_vnd\":1000,\"disbursed_on\":\"1999-12-31\","
                     "\"decision_no\":\"QĐ-1999/UBND\",\"purpose\":\"Sách vở\"}",
                     NULL, 422);
    assert_one_field_error(refused, "/disbursed_on");
    json_decref(refused);
}

/* ---- donors after the reorganisation of 1/7/2025 ------------------------------------------ */

/* baove-admin under another clock than the database's (a unit valid then). */
static int admin_on(const char *now, const char *const args[], const char *stdin_text)
{
    const char *argv[16] = {harness_env("BAOVE_ADMIN_BIN")};
    for (size_t i = 0; args[i] != NULL && i < 14; i++)
        argv[i + 1] = args[i];
    char url[600], clock[64], key[1100];
    snprintf(url, sizeof url, "BAOVE_ADMIN_DATABASE_URL=%s", database.admin_url);
    snprintf(clock, sizeof clock, "BAOVE_NOW=%s", now);
    snprintf(key, sizeof key, "BAOVE_SECRETS_KEY_FILE=%s", harness_secrets_key_file());
    const char *env[] = {url, clock, key, NULL};
    return harness_run(argv, env, stdin_text, NULL);
}

/* Long Khánh A ended on 30/6/2025 (merged into Xã Long Khánh); its donors
 * stay in its books, seen by the new commune's officer.  A change that
 * does not name the unit keeps the donor's, valid or not (it was a 422 on
 * /unit the client never sent); one that names a unit must name one valid
 * today. */
static void a_donor_of_an_ended_commune_can_be_edited(void **state)
{
    (void)state;
    char donor[40], path[96];
    create("/v1/fund/donors", commune_a,
           "{\"unit\":\"29980\",\"kind\":\"individual\",\"name\":\"Lê Thị Mai\"}", NULL,
           donor);
    const char *now = "2025-08-01T09:00:00+07:00";
    const char *add[] = {"user", "add", "--username", "officer_long_khanh", "--role",
                         "commune_officer", "--unit", "29983", "--password-stdin", NULL};
    assert_int_equal(admin_on(now, add, "baove-demo\n"), 0);
    struct test_process later;
    const char *env[] = {"BAOVE_NOW=2025-08-01T09:00:00+07:00", NULL};
    assert_true(harness_start_api(&database, env, &later));
    char *token = harness_login(&later, "officer_long_khanh", "baove-demo");
    assert_non_null(token);
    snprintf(path, sizeof path, "/v1/fund/donors/%s", donor);
    struct http_response *changed = call_on(&later, "PATCH", path, token,
                                            "{\"phone\":\"0918123456\"}", "If-Match: \"1\"");
    if (changed->status != 200)
        fail_msg("PATCH %s: expected 200, got %ld: %s", path, changed->status, changed->body);
    assert_string_equal(json_text(changed->json, "phone", NULL), "0918123456");
    assert_string_equal(json_text(changed->json, "unit", NULL), "29980");
    assert_int_equal(integer(changed->json, "version"), 2);
    http_free(changed);
    /* Naming the ended unit is still refused; the new commune is not. */
    struct http_response *refused = call_on(&later, "PATCH", path, token,
                                            "{\"unit\":\"29980\"}", "If-Match: \"2\"");
    assert_int_equal(refused->status, 422);
    assert_one_field_error(refused->json, "/unit");
    http_free(refused);
    changed = call_on(&later, "PATCH", path, token, "{\"unit\":\"29983\"}", "If-Match: \"2\"");
    assert_int_equal(changed->status, 200);
    assert_string_equal(json_text(changed->json, "unit", NULL), "29983");
    assert_string_equal(json_text(changed->json, "phone", NULL), "0918123456");
    http_free(changed);
    free(token);
    assert_int_equal(harness_stop(&later), 0);
}

/* ---- a donor moving away ----------------------------------------------------------------- */

/* A donor of Thường Phước 2 that the province takes into its own books
 * (unit 87, above the district) leaves the district's scope: the district
 * officer's fund feed says so with a scope_exit (its record withheld), as
 * for a child or a case that moves away. */
static void a_donor_moved_away_leaves_the_district_feed(void **state)
{
    (void)state;
    char donor[40], path[96], cursor[256], feed_path[320];
    create("/v1/fund/donors", district,
           "{\"unit\":\"29974\",\"kind\":\"business\",\"name\":\"Công ty Cổ phần Sáu Hùng\"}",
           NULL, donor);
    /* The snapshot, then the position the changes continue from. */
    json_t *feed = expect("GET", "/v1/changes?types=fund&limit=1000", district, NULL, NULL, 200);
    assert_string_equal(json_text(feed, "phase", NULL), "changes");
    snprintf(cursor, sizeof cursor, "%s", json_text(feed, "next_cursor", NULL));
    json_decref(feed);
    snprintf(path, sizeof path, "/v1/fund/donors/%s", donor);
    json_t *moved = expect("PATCH", path, admin, "{\"unit\":\"87\"}", "If-Match: \"1\"", 200);
    assert_string_equal(json_text(moved, "unit", NULL), "87");
    json_decref(moved);
    json_decref(expect("GET", path, district, NULL, NULL, 404));

    snprintf(feed_path, sizeof feed_path, "/v1/changes?types=fund&cursor=%s", cursor);
    feed = expect("GET", feed_path, district, NULL, NULL, 200);
    json_t *items = json_object_get(feed, "items");
    size_t exits = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *entry = json_array_get(items, i);
        if (strcmp(json_text(entry, "id", NULL), donor) != 0)
            continue;
        assert_string_equal(json_text(entry, "operation", NULL), "scope_exit");
        assert_true(json_is_null(json_object_get(entry, "record")));
        exits++;
    }
    json_decref(feed);
    assert_int_equal(exits, 1);
}

int main(void)
{
    harness_init("fund");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_plan_targets_300_million),
        cmocka_unit_test(amounts_are_whole_dong),
        cmocka_unit_test(books_of_three_communes_and_the_district),
        cmocka_unit_test(two_payments_at_once_apply_exactly_once),
        cmocka_unit_test(a_retried_payment_is_recorded_once),
        cmocka_unit_test(the_summary_adds_up),
        cmocka_unit_test(statuses_follow_the_clock),
        cmocka_unit_test(scope_and_roles),
        cmocka_unit_test(the_public_statement),
        cmocka_unit_test(fund_entries_reach_the_district_only),
        cmocka_unit_test(a_mistaken_payment_is_voided),
        cmocka_unit_test(a_record_names_a_child_of_its_books),
        cmocka_unit_test(an_entry_before_2000_is_refused),
        cmocka_unit_test(a_donor_of_an_ended_commune_can_be_edited),
        cmocka_unit_test(a_donor_moved_away_leaves_the_district_feed),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    harness_finish();
    return failed;
}
