/* The 2020 six-month reporting cycle through the API: the district moves a
 * period's dates; Xã Long Khánh A drafts on 20/4, may not submit before the
 * cut-off day (30/4) has ended, submits right before the due date
 * ends, is returned, resubmits right after it (late) and is accepted; Xã
 * Long Khánh B submits on time; the district's summary counts them (JSON
 * and CSV); two first saves of one report at once; scope and roles;
 * notification channels and their URL rules. */
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
/* The same database seen on the last minute of the due date and on the
 * first minute after it; and, for the 6-month report's cut-off (30/4), ten
 * days before it and on its last minute. */
static struct test_process before_due, after_due, before_cut_off, on_cut_off;
static char *district, *commune, *viewer;

static int setup(void **state)
{
    (void)state;
    if (!harness_create_database_on("baove_t_reports", true, true, "2020-05-13T09:00:00+07:00",
                                    &database))
        return -1;
    const char *before[] = {"BAOVE_NOW=2020-05-13T23:59:00+07:00",
                            "BAOVE_WEBHOOK_ALLOW_HOSTS=127.0.0.1", NULL};
    const char *after[] = {"BAOVE_NOW=2020-05-14T00:00:30+07:00", NULL};
    const char *early[] = {"BAOVE_NOW=2020-04-20T09:00:00+07:00", NULL};
    const char *last_minute[] = {"BAOVE_NOW=2020-04-30T23:59:00+07:00", NULL};
    if (!harness_start_api(&database, before, &before_due) ||
        !harness_start_api(&database, after, &after_due) ||
        !harness_start_api(&database, early, &before_cut_off) ||
        !harness_start_api(&database, last_minute, &on_cut_off))
        return -1;
    district = harness_login(&before_due, "demo_district", "baove-demo");
    commune = harness_login(&before_due, "demo_commune", "baove-demo");
    viewer = harness_login(&before_due, "demo_viewer", "baove-demo");
    return district && commune && viewer ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(district);
    free(commune);
    free(viewer);
    int first = harness_stop(&before_due), second = harness_stop(&after_due);
    int third = harness_stop(&before_cut_off), fourth = harness_stop(&on_cut_off);
    return first == 0 && second == 0 && third == 0 && fourth == 0 ? 0 : -1;
}

static struct http_response *call(const struct test_process *api, const char *method,
                                  const char *path, const char *token, const char *body,
                                  const char *if_match)
{
    char header[48];
    snprintf(header, sizeof header, "If-Match: \"%s\"", if_match ? if_match : "");
    const char *headers[] = {if_match ? header : NULL, NULL};
    struct http_options options = {.method = method, .path = path, .token = token,
                                   .body = body, .headers = headers};
    return http_call(api, &options);
}

static long status_of(struct http_response *response)
{
    long status = response->status;
    http_free(response);
    return status;
}

static long long integer_at(const json_t *object, const char *name)
{
    return json_integer_value(json_object_get(object, name));
}

static void report_periods(void **state)
{
    (void)state;
    struct http_response *list = http_get(&before_due, "/v1/report-periods?year=2020", viewer);
    assert_int_equal(list->status, 200);
    json_t *items = json_object_get(list->json, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(json_text(json_array_get(items, 0), "key", NULL), "2020S1");
    assert_string_equal(json_text(json_array_get(items, 0), "due_on", NULL), "2020-05-13");
    assert_string_equal(json_text(json_array_get(items, 1), "covers_to", NULL), "2020-10-31");
    http_free(list);
    assert_int_equal(status_of(http_get(&before_due, "/v1/report-periods?year=20x", viewer)),
                     400);
    assert_int_equal(status_of(http_get(&before_due, "/v1/report-periods/2019S1", viewer)), 404);

    struct http_response *period = http_get(&before_due, "/v1/report-periods/2020", district);
    assert_int_equal(period->status, 200);
    assert_string_equal(http_header(period, "ETag"), "\"1\"");
    http_free(period);
    const char *dates = "{\"covers_from\":\"2020-01-01\",\"covers_to\":\"2020-10-15\","
                        "\"due_on\":\"2020-11-12\"}";
    const char *path = "/v1/report-periods/2020";
    assert_int_equal(status_of(call(&before_due, "PUT", path, district, dates, NULL)), 428);
    struct http_response *stale = call(&before_due, "PUT", path, district, dates, "7");
    assert_int_equal(stale->status, 412);
    assert_int_equal(integer_at(json_object_get(stale->json, "current"), "version"), 1);
    http_free(stale);
    assert_int_equal(status_of(call(&before_due, "PUT", path, commune, dates, "1")), 403);
    struct http_response *bad = call(&before_due, "PUT", path, district,
                                     "{\"covers_from\":\"2019-12-01\",\"covers_to\":"
                                     "\"2020-10-15\",\"due_on\":\"2020-10-01\"}", "1");
    assert_int_equal(bad->status, 422);
    assert_int_equal(json_array_size(json_object_get(bad->json, "errors")), 2);
    http_free(bad);
    struct http_response *moved = call(&before_due, "PUT", path, district, dates, "1");
    assert_int_equal(moved->status, 200);
    assert_string_equal(json_text(moved->json, "covers_to", NULL), "2020-10-15");
    assert_int_equal(integer_at(moved->json, "version"), 2);
    http_free(moved);
}

static const char draft[] =
    "{\"narrative\":{\"results\":\"Tặng quà Trung thu cho 120 trẻ em.\","
    "\"difficulties\":\"Thiếu cộng tác viên ở ấp Long Thạnh.\","
    "\"proposals\":\"Đề nghị huyện tập huấn thêm.\"},"
    "\"activities\":{\"mid_autumn_gift_children\":120,\"forum_participants\":35,"
    "\"month_of_action_events\":2}}";

#define LONG_KHANH_A "/v1/reports/2020S1/29980"
#define LONG_KHANH_B "/v1/reports/2020S1/29983"

/* The indicator item `code` of a snapshot's or summary's items. */
static const json_t *indicator_item(const json_t *items, const char *code)
{
    size_t index;
    const json_t *item;
    json_array_foreach(items, index, item) {
        if (strcmp(json_text(item, "code", NULL), code) == 0)
            return item;
    }
    fail_msg("no indicator %s", code);
    return NULL;
}

/* A submission refused before the cut-off day (30/4) has ended: the report
 * would freeze figures missing the days still to come, and count as on
 * time.  The refusal names the cut-off; the draft stays a draft. */
static void refused_before_the_cut_off(const struct test_process *api)
{
    struct http_response *early =
        call(api, "POST", LONG_KHANH_A "/submit", commune, NULL, NULL);
    assert_int_equal(early->status, 409);
    assert_string_equal(early->content_type, "application/problem+json");
    assert_string_equal(json_text(early->json, "type", NULL), "/problems/conflict");
    assert_non_null(strstr(json_text(early->json, "detail", NULL), "cut-off day 2020-04-30"));
    http_free(early);
    struct http_response *report = http_get(api, LONG_KHANH_A, commune);
    assert_int_equal(report->status, 200);
    assert_string_equal(json_text(report->json, "status", NULL), "draft");
    assert_true(json_is_null(json_object_get(report->json, "submitted_at")));
    assert_true(json_is_null(json_object_get(report->json, "indicators")));
    http_free(report);
}

static void a_commune_report_from_draft_to_accepted(void **state)
{
    (void)state;
    /* One child registered in Xã Long Khánh A before the cut-off (30/4). */
    struct http_response *child = call(
        &before_due, "PUT", "/v1/children/3d1c9a7e-5b2f-4c8d-9e6a-7f0b1c2d3e4f", commune,
        "{\"unit\":\"29980\",\"full_name\":\"Phạm Văn An\",\"sex\":\"male\","
        "\"date_of_birth\":\"2012-05-01\",\"registered_on\":\"2020-02-03\"}", NULL);
    assert_int_equal(child->status, 201);
    http_free(child);
    assert_int_equal(status_of(http_get(&before_due, LONG_KHANH_A, commune)), 404);
    /* 20/4: the draft is saved, but not submitted until 30/4 has ended. */
    struct http_response *created =
        call(&before_cut_off, "PUT", LONG_KHANH_A, commune, draft, NULL);
    assert_int_equal(created->status, 201);
    refused_before_the_cut_off(&before_cut_off);
    refused_before_the_cut_off(&on_cut_off);
    assert_string_equal(json_text(created->json, "status", NULL), "draft");
    assert_string_equal(json_text(created->json, "unit_name", NULL), "Xã Long Khánh A");
    assert_int_equal(integer_at(json_object_get(created->json, "activities"),
                                "mid_autumn_gift_children"), 120);
    assert_true(json_is_null(json_object_get(created->json, "on_time")));
    assert_string_equal(http_header(created, "Location"), LONG_KHANH_A);
    http_free(created);
    /* Editing needs the version; invalid counts are refused field by field. */
    assert_int_equal(status_of(call(&before_due, "PUT", LONG_KHANH_A, commune, draft, NULL)),
                     428);
    /* A stale version is refused with the report as it is now. */
    struct http_response *stale = call(&before_due, "PUT", LONG_KHANH_A, commune, draft, "7");
    assert_int_equal(stale->status, 412);
    assert_string_equal(http_header(stale, "ETag"), "\"1\"");
    assert_int_equal(integer_at(json_object_get(stale->json, "current"), "version"), 1);
    assert_string_equal(json_text(json_object_get(stale->json, "current"), "status", NULL),
                        "draft");
    http_free(stale);
    struct http_response *invalid = call(&before_due, "PUT", LONG_KHANH_A, commune,
                                         "{\"narrative\":{\"results\":7},\"activities\":"
                                         "{\"forum_participants\":-1,\"gifts\":3}}", "1");
    assert_int_equal(invalid->status, 422);
    assert_int_equal(json_array_size(json_object_get(invalid->json, "errors")), 3);
    http_free(invalid);
    struct http_response *edited = call(&before_due, "PUT", LONG_KHANH_A, commune, draft, "1");
    assert_int_equal(edited->status, 200);
    assert_string_equal(http_header(edited, "ETag"), "\"2\"");
    http_free(edited);

    /* 23:59 on the due date: on time. */
    struct http_response *submitted =
        call(&before_due, "POST", LONG_KHANH_A "/submit", commune, NULL, "2");
    assert_int_equal(submitted->status, 200);
    assert_string_equal(json_text(submitted->json, "status", NULL), "submitted");
    assert_true(json_is_true(json_object_get(submitted->json, "on_time")));
    assert_string_equal(json_text(submitted->json, "submitted_at", NULL),
                        "2020-05-13T23:59:00+07:00");
    /* The commune's indicators at the cut-off, frozen into the report. */
    const json_t *frozen = json_object_get(submitted->json, "indicators");
    assert_string_equal(json_text(frozen, "unit", NULL), "29980");
    assert_string_equal(json_text(frozen, "period", NULL), "2020-04-30");
    const json_t *children = indicator_item(json_object_get(frozen, "items"), "children_total");
    assert_int_equal(json_integer_value(json_object_get(children, "numerator")), 1);
    http_free(submitted);
    assert_int_equal(status_of(call(&before_due, "PUT", LONG_KHANH_A, commune, draft, "3")),
                     409);
    assert_int_equal(status_of(call(&before_due, "POST", LONG_KHANH_A "/submit", commune,
                                    NULL, NULL)), 409);
    /* Only the district reviews. */
    assert_int_equal(status_of(call(&before_due, "POST", LONG_KHANH_A "/accept", commune, NULL,
                                    NULL)), 403);
    /* Refused by role, and audited as the report's other refusals are. */
    assert_true(harness_query_equals(&database,
                                     "SELECT count(*) FROM audit_log WHERE resource_type = "
                                     "'reports' AND action = 'denied' AND outcome = 'denied' "
                                     "AND actor = 'demo_commune'",
                                     "1"));
    assert_int_equal(status_of(call(&before_due, "POST", LONG_KHANH_A "/return", district,
                                    "{}", NULL)), 422);
    struct http_response *returned =
        call(&before_due, "POST", LONG_KHANH_A "/return", district,
             "{\"reason\":\"Bổ sung số liệu diễn đàn trẻ em.\"}", "3");
    assert_int_equal(returned->status, 200);
    assert_string_equal(json_text(returned->json, "status", NULL), "returned");
    assert_string_equal(json_text(returned->json, "reviewed_by", NULL), "demo_district");
    http_free(returned);
    assert_int_equal(status_of(call(&before_due, "POST", LONG_KHANH_A "/accept", district,
                                    NULL, NULL)), 409);
    assert_int_equal(status_of(call(&after_due, "PUT", LONG_KHANH_A, commune, draft, "4")), 200);

    /* 00:00:30 the day after: late. */
    struct http_response *late =
        call(&after_due, "POST", LONG_KHANH_A "/submit", commune, NULL, NULL);
    assert_int_equal(late->status, 200);
    assert_true(json_is_false(json_object_get(late->json, "on_time")));
    assert_int_equal(integer_at(late->json, "submissions"), 2);
    http_free(late);
    struct http_response *accepted =
        call(&after_due, "POST", LONG_KHANH_A "/accept", district, NULL, "6");
    assert_int_equal(accepted->status, 200);
    assert_string_equal(json_text(accepted->json, "status", NULL), "accepted");
    assert_string_equal(json_text(accepted->json, "accepted_at", NULL),
                        "2020-05-14T00:00:30+07:00");
    http_free(accepted);

    /* Xã Long Khánh B, by the district on its behalf, on time. */
    assert_int_equal(status_of(call(&before_due, "PUT", LONG_KHANH_B, district, draft, NULL)),
                     201);
    struct http_response *on_time =
        call(&before_due, "POST", LONG_KHANH_B "/submit", district, NULL, NULL);
    assert_true(json_is_true(json_object_get(on_time->json, "on_time")));
    http_free(on_time);
}

static void summary_counts_completeness_and_timeliness(void **state)
{
    (void)state;
    struct http_response *summary =
        http_get(&after_due, "/v1/reports/2020S1/summary?unit=870", district);
    assert_int_equal(summary->status, 200);
    assert_int_equal(integer_at(summary->json, "expected"), 10);
    assert_int_equal(integer_at(summary->json, "submitted"), 2);
    assert_int_equal(integer_at(summary->json, "on_time"), 1);
    assert_int_equal(integer_at(summary->json, "accepted"), 1);
    assert_true(json_real_value(json_object_get(summary->json, "completeness_percent")) == 20.0 ||
                json_integer_value(json_object_get(summary->json, "completeness_percent")) == 20);
    json_t *missing = json_object_get(summary->json, "not_reported");
    assert_int_equal(json_array_size(missing), 8);
    assert_string_equal(json_text(json_array_get(missing, 0), "unit", NULL), "29956");
    assert_int_equal(json_array_size(json_object_get(summary->json, "communes")), 10);
    /* The district aggregate of the two frozen snapshots. */
    const json_t *children =
        indicator_item(json_object_get(summary->json, "indicators"), "children_total");
    assert_int_equal(json_integer_value(json_object_get(children, "reports")), 2);
    assert_int_equal(json_integer_value(json_object_get(children, "numerator")), 1);
    assert_int_equal(json_integer_value(json_object_get(children, "value")), 1);
    http_free(summary);

    const char *headers[] = {"Accept: text/csv", NULL};
    struct http_options csv = {.path = "/v1/reports/2020S1/summary?unit=870",
                               .token = district, .headers = headers};
    struct http_response *sheet = http_call(&after_due, &csv);
    assert_int_equal(sheet->status, 200);
    assert_memory_equal(sheet->body, "\xEF\xBB\xBF" "period,unit,unit_name,status", 31);
    int lines = 0;
    for (const char *c = sheet->body; *c != '\0'; c++)
        lines += *c == '\n';
    assert_int_equal(lines, 11);
    assert_non_null(strstr(sheet->body, "2020S1,29980,Xã Long Khánh A,accepted,"
                                        "2020-05-14T00:00:30+07:00,no,"));
    http_free(sheet);

    /* In Vietnamese, for Excel set to Vietnamese: headers, statuses, ';'. */
    const char *vietnamese[] = {"Accept: text/csv", "Accept-Language: vi", NULL};
    csv.path = "/v1/reports/2020S1/summary?unit=870&delimiter=semicolon";
    csv.headers = vietnamese;
    sheet = http_call(&after_due, &csv);
    assert_int_equal(sheet->status, 200);
    assert_non_null(strstr(sheet->body, "Kỳ báo cáo;Mã xã;Tên xã;Tình trạng báo cáo;"));
    assert_non_null(strstr(sheet->body, "2020S1;29980;Xã Long Khánh A;Đã duyệt;"
                                        "2020-05-14T00:00:30+07:00;Không;"));
    http_free(sheet);

    /* As .xlsx: one row per commune, real dates, the figures against targets. */
    sheet = http_get(&after_due, "/v1/reports/2020S1/summary?unit=870&format=xlsx", district);
    assert_int_equal(sheet->status, 200);
    assert_string_equal(sheet->content_type,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    char *workbook = harness_zip_part(sheet, "xl/workbook.xml");
    char *strings = harness_zip_part(sheet, "xl/sharedStrings.xml");
    char *rows = harness_zip_part(sheet, "xl/worksheets/sheet1.xml");
    assert_non_null(workbook);
    assert_non_null(strings);
    assert_non_null(rows);
    assert_non_null(strstr(workbook, "name=\"Tổng hợp báo cáo\""));
    const char *texts[] = {"Mã xã", "Tình trạng báo cáo", "Ngày nộp", "Tổng số trẻ em",
                           "Tỷ lệ trẻ em có HCĐB: chỉ tiêu", "Đã duyệt", "Xã Long Khánh A"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (strstr(strings, texts[i]) == NULL)
            fail_msg("the workbook lacks \"%s\"", texts[i]);
    /* The header row frozen; 11 rows; the submission date a number (a date
     * cell: 2020-05-14 is day 43965 of Excel's calendar). */
    assert_non_null(strstr(rows, "<pane ySplit=\"1\" topLeftCell=\"A2\" activePane=\"bottomLeft\" "
                                 "state=\"frozen\"/>"));
    assert_non_null(strstr(rows, "<row r=\"11\""));
    assert_null(strstr(rows, "<row r=\"12\""));
    assert_non_null(strstr(rows, "<v>43965</v>"));
    /* Figures beside targets from column G on, for the communes that reported. */
    assert_non_null(strstr(rows, "<c r=\"G"));
    free(workbook);
    free(strings);
    free(rows);
    http_free(sheet);

    /* A commune sees only its own commune. */
    assert_int_equal(status_of(http_get(&after_due, "/v1/reports/2020S1/summary?unit=870",
                                        commune)), 404);
    struct http_response *own = http_get(&after_due, "/v1/reports/2020S1/summary", commune);
    assert_int_equal(own->status, 200);
    assert_int_equal(integer_at(own->json, "expected"), 1);
    http_free(own);
    struct http_response *list = http_get(&after_due, "/v1/reports?period=2020S1", commune);
    assert_int_equal(json_array_size(json_object_get(list->json, "items")), 1);
    http_free(list);
    list = http_get(&after_due, "/v1/reports?period=2020S1&unit=870", district);
    assert_int_equal(json_array_size(json_object_get(list->json, "items")), 2);
    http_free(list);
    assert_int_equal(status_of(http_get(&after_due, LONG_KHANH_B, commune)), 404);
    assert_int_equal(status_of(http_get(&after_due, "/v1/reports?period=bad", district)), 400);
    assert_int_equal(status_of(http_get(&after_due, "/v1/reports/2021/29980", district)), 404);
}

/* One of two first saves of the same report sent at once. */
struct racing_save {
    struct http_response *response;
};

static void *save_first_draft(void *argument)
{
    struct racing_save *save = argument;
    save->response = call(&before_due, "PUT", "/v1/reports/2020/29980", commune, draft, NULL);
    return NULL;
}

/* Two first saves of Xã Long Khánh A's annual report at once: both read no
 * report, then both insert one.  The owner holds the period's row, which
 * the insert's foreign key check locks, until both wait (the second on the
 * first's new row), so they always meet: one creates the draft (201), the
 * other finds it created meanwhile and is answered as any save without
 * If-Match of an existing report (428 with the current version), never a
 * 500 for the violated key. */
static void two_first_saves_at_once(void **state)
{
    (void)state;
    struct racing_save saves[2] = {{0}};
    int waiters = harness_race(&database,
                               "SELECT 1 FROM report_periods WHERE key = '2020' FOR UPDATE", 2,
                               save_first_draft, saves, sizeof saves[0]);
    assert_int_equal(waiters, 2);
    int created = saves[0].response->status == 201 ? 0 : 1;
    struct http_response *winner = saves[created].response, *loser = saves[1 - created].response;
    if (loser->status != 428)
        fprintf(stderr, "the other save: %ld %s\n", loser->status, loser->body);
    assert_int_equal(winner->status, 201);
    assert_int_equal(loser->status, 428);
    assert_string_equal(loser->content_type, "application/problem+json");
    assert_string_equal(http_header(loser, "ETag"), "\"1\"");
    http_free(winner);
    http_free(loser);
    struct http_response *report = http_get(&before_due, "/v1/reports/2020/29980", commune);
    assert_int_equal(report->status, 200);
    assert_int_equal(integer_at(report->json, "version"), 1);
    http_free(report);
}

static void channels(void **state)
{
    (void)state;
    const char *path = "/v1/units/29980/channels/ubnd";
    struct http_response *created =
        call(&before_due, "PUT", path, district,
             "{\"kind\":\"webhook\",\"url\":\"http://127.0.0.1:9/hook\"}", NULL);
    assert_int_equal(created->status, 201);
    const char *secret = json_text(created->json, "secret", NULL);
    assert_non_null(secret);
    assert_int_equal(strncmp(secret, "whsec_", 6), 0);
    assert_int_equal(strlen(secret), 6 + 44);
    http_free(created);
    /* Saved again: no secret shown. */
    struct http_response *again =
        call(&before_due, "PUT", path, district,
             "{\"kind\":\"webhook\",\"url\":\"http://127.0.0.1:9/other\"}", NULL);
    assert_int_equal(again->status, 200);
    assert_null(json_object_get(again->json, "secret"));
    http_free(again);
    struct http_response *refused =
        call(&before_due, "PUT", "/v1/units/29980/channels/x", district,
             "{\"kind\":\"webhook\",\"url\":\"http://example.org/hook\"}", NULL);
    assert_int_equal(refused->status, 422);
    assert_string_equal(json_text(json_array_get(json_object_get(refused->json, "errors"), 0),
                                  "detail", NULL), "must be an https URL");
    http_free(refused);
    refused = call(&before_due, "PUT", "/v1/units/29980/channels/x", district,
                   "{\"kind\":\"webhook\",\"url\":\"https://10.1.2.3/hook\"}", NULL);
    assert_int_equal(refused->status, 422);
    assert_string_equal(json_text(json_array_get(json_object_get(refused->json, "errors"), 0),
                                  "detail", NULL),
                        "resolves to a private, loopback or link-local address");
    http_free(refused);
    assert_int_equal(status_of(call(&before_due, "PUT", "/v1/units/29980/channels/x", district,
                                    "{\"kind\":\"webhook\",\"url\":\"https://[::1]:8443/\"}",
                                    NULL)), 422);
    assert_int_equal(status_of(call(&before_due, "PUT", "/v1/units/29980/channels/mail",
                                    district, "{\"kind\":\"email\",\"address\":\"nope\"}",
                                    NULL)), 422);
    assert_int_equal(status_of(call(&before_due, "PUT", "/v1/units/29980/channels/mail",
                                    district,
                                    "{\"kind\":\"email\",\"address\":\"lkA@hongngu.gov.vn\"}",
                                    NULL)), 201);
    assert_int_equal(status_of(call(&before_due, "PUT", "/v1/units/29980/channels/Bad!",
                                    district, "{\"kind\":\"email\",\"address\":\"a@b.vn\"}",
                                    NULL)), 400);
    assert_int_equal(status_of(call(&before_due, "PUT", path, commune,
                                    "{\"kind\":\"email\",\"address\":\"a@b.vn\"}", NULL)), 403);
    struct http_response *list = http_get(&before_due, "/v1/units/29980/channels", district);
    assert_int_equal(list->status, 200);
    assert_int_equal(json_array_size(json_object_get(list->json, "items")), 2);
    assert_null(strstr(list->body, "whsec_"));
    http_free(list);
    assert_int_equal(status_of(call(&before_due, "DELETE", "/v1/units/29980/channels/mail",
                                    district, NULL, NULL)), 204);
    assert_int_equal(status_of(call(&before_due, "DELETE", "/v1/units/29980/channels/mail",
                                    district, NULL, NULL)), 404);
    assert_int_equal(status_of(http_get(&before_due, "/v1/notifications?status=x", district)),
                     400);
    struct http_response *outbox = http_get(&before_due, "/v1/notifications", district);
    assert_int_equal(outbox->status, 200);
    assert_int_equal(json_array_size(json_object_get(outbox->json, "items")), 0);
    http_free(outbox);
}

int main(void)
{
    harness_init("reports");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(report_periods),
        cmocka_unit_test(a_commune_report_from_draft_to_accepted),
        cmocka_unit_test(summary_counts_completeness_and_timeliness),
        cmocka_unit_test(two_first_saves_at_once),
        cmocka_unit_test(channels),
    };
    int failed = cmocka_run_group_tests_name("reports", tests, setup, teardown);
    harness_finish();
    return failed;
}
