/* Report reminders of the 2020 cycle, end to end: the API configures a
 * signed webhook for each of the 10 communes and the district (and an
 * e-mail address for the district); `baove-worker --once`, standing on a
 * given day through BAOVE_NOW, generates the reminders and delivers them to
 * this test's own webhook receiver and SMTP sink.
 *
 *   29/4 07:00  −14 to each of the 10 communes; again the same day: nothing
 *   4/5         nothing (Long Khánh A submitted on 1/5, no offset reached)
 *   12/5        after downtime since 5/5: one −1 each, not −7/−3; Long Khánh A
 *               none; a receiver answering 500 gets it again later, once
 *   14/5        +1 to the communes and to the district (webhook and e-mail);
 *               a receiver answering 410 has its channel disabled
 *   29/10       two workers at once: every reminder exactly once
 *   30/10       pledge instalments due within 7 days and overdue
 *   21/11       silent about the annual report (its last offset long past)
 * and before all that, on 28/4, a case's emergency deadline alerts.
 * Every delivery's signature is verified here with OpenSSL, independently
 * of the worker's code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "receiver.h"

#define COMMUNES 10
static const char *const codes[COMMUNES + 1] = {"29956", "29962", "29971", "29974", "29977",
                                                "29980", "29983", "29992", "29995", "29998",
                                                "870"};
static char secrets[COMMUNES + 1][80];
static struct test_database database;
static struct test_process api;
static char *district, *commune;
static int receiver_port, smtp_port;

static struct http_response *call(const char *method, const char *path, const char *token,
                                  const char *body)
{
    struct http_options options = {.method = method, .path = path, .token = token,
                                   .body = body};
    return http_call(&api, &options);
}

static int setup(void **state)
{
    (void)state;
    if (!harness_create_database_on("baove_t_reminders", true, true, "2020-04-28T09:00:00+07:00",
                                    &database) ||
        !receiver_start(&receiver_port) || !smtp_sink_start(&smtp_port))
        return -1;
    const char *env[] = {"BAOVE_NOW=2020-04-28T09:00:00+07:00",
                         "BAOVE_WEBHOOK_ALLOW_HOSTS=127.0.0.1", NULL};
    if (!harness_start_api(&database, env, &api))
        return -1;
    district = harness_login(&api, "demo_district", "baove-demo");
    commune = harness_login(&api, "demo_commune", "baove-demo");
    if (district == NULL || commune == NULL)
        return -1;
    for (size_t i = 0; i <= COMMUNES; i++) {
        char path[64], body[160];
        snprintf(path, sizeof path, "/v1/units/%s/channels/hook", codes[i]);
        snprintf(body, sizeof body,
                 "{\"kind\":\"webhook\",\"url\":\"http://127.0.0.1:%d/hook/%s\"}",
                 receiver_port, codes[i]);
        struct http_response *created = call("PUT", path, district, body);
        const char *secret = json_text(created->json, "secret", NULL);
        if (created->status != 201 || secret == NULL)
            return -1;
        snprintf(secrets[i], sizeof secrets[i], "%s", secret);
        http_free(created);
    }
    struct http_response *mail =
        call("PUT", "/v1/units/870/channels/mail", district,
             "{\"kind\":\"email\",\"address\":\"phong-ldtbxh@hongngu.gov.vn\"}");
    bool ok = mail->status == 201;
    http_free(mail);
    return ok ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(district);
    free(commune);
    receiver_stop();
    smtp_sink_stop();
    return harness_stop(&api) == 0 ? 0 : -1;
}

/* ---- helpers ------------------------------------------------------------------- */

static void start_worker(const char *now, struct test_process *worker)
{
    char now_setting[64], smtp[64];
    snprintf(now_setting, sizeof now_setting, "BAOVE_NOW=%s", now);
    snprintf(smtp, sizeof smtp, "BAOVE_SMTP_URL=smtp://127.0.0.1:%d", smtp_port);
    const char *env[] = {now_setting, smtp, "BAOVE_WEBHOOK_ALLOW_HOSTS=127.0.0.1",
                         "BAOVE_APP_URL=https://baove.example/reports/{period}/{unit}", NULL};
    const char *args[] = {"--once", NULL};
    assert_true(harness_start_worker(&database, env, args, worker));
}

static void finish_worker(struct test_process *worker)
{
    assert_int_equal(harness_wait_exit(worker, 90), 0);
}

/* Runs `baove-worker --once` standing at `now`; returns how many webhooks
 * arrived during the run. */
static size_t run_worker(const char *now)
{
    size_t before = receiver_count();
    struct test_process worker;
    start_worker(now, &worker);
    finish_worker(&worker);
    return receiver_count() - before;
}

static const char *secret_of(const char *path)
{
    for (size_t i = 0; i <= COMMUNES; i++) {
        char expected[32];
        snprintf(expected, sizeof expected, "/hook/%s", codes[i]);
        if (strcmp(path, expected) == 0)
            return secrets[i];
    }
    return NULL;
}

/* Standard Webhooks: v1,base64(HMAC-SHA256(base64-decoded secret,
 * id.timestamp.body)), computed here with OpenSSL. */
static void verify_signature(const struct received_webhook *request)
{
    const char *secret = secret_of(request->path);
    assert_non_null(secret);
    assert_int_equal(strncmp(secret, "whsec_", 6), 0);
    const char *encoded = secret + 6;
    unsigned char key[64];
    int key_length = EVP_DecodeBlock(key, (const unsigned char *)encoded, (int)strlen(encoded));
    for (const char *c = encoded + strlen(encoded); c > encoded && c[-1] == '='; c--)
        key_length--;
    assert_int_equal(key_length, 32);
    char *signed_text = NULL;
    assert_true(asprintf(&signed_text, "%s.%s.%s", request->id, request->timestamp,
                         request->body) > 0);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_length = 0;
    HMAC(EVP_sha256(), key, key_length, (const unsigned char *)signed_text,
         strlen(signed_text), mac, &mac_length);
    free(signed_text);
    unsigned char expected[128] = "v1,";
    EVP_EncodeBlock(expected + 3, mac, (int)mac_length);
    assert_string_equal(request->signature, (const char *)expected);
}

/* The reminder's data member, checked for its period and offset. */
static json_t *reminder_data(const struct received_webhook *request, const char *period,
                             long long offset)
{
    verify_signature(request);
    json_t *body = json_loads(request->body, 0, NULL);
    assert_non_null(body);
    assert_string_equal(json_text(body, "type", NULL), "report.reminder");
    json_t *data = json_incref(json_object_get(body, "data"));
    json_decref(body);
    assert_string_equal(json_text(data, "period", NULL), period);
    assert_int_equal(json_integer_value(json_object_get(data, "offset_days")), offset);
    return data;
}

static bool webhook_ids_distinct(size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        for (size_t j = i + 1; j < to; j++)
            if (strcmp(receiver_get(i)->id, receiver_get(j)->id) == 0)
                return false;
    return true;
}

/* Runs format (an UPDATE … RETURNING 1 whose one %s is id) and checks it
 * changed exactly one row. */
static void update_one_row(const char *format, const char *id)
{
    char sql[512];
    snprintf(sql, sizeof sql, format, id);
    assert_true(harness_query_equals(&database, sql, "1"));
}

/* ---- case deadline alerts ------------------------------------------------------- */

#define CHILD "5a5b8c69-4c9e-4a7f-9b8c-b0c6d7e8f9a0"

/* A report to hotline 111 on 28/4 at 08:00 with serious risk: emergency
 * measures are due 12 hours later, at 20:00. */
static void case_deadline_alerts_carry_no_names(void **state)
{
    (void)state;
    struct http_response *child = call(
        "PUT", "/v1/children/" CHILD, commune,
        "{\"unit\":\"29980\",\"full_name\":\"Nguyễn Thị Hoa\",\"sex\":\"female\","
        "\"date_of_birth\":\"2011-03-02\",\"registered_on\":\"2020-01-02\"}");
    assert_int_equal(child->status, 201);
    http_free(child);
    struct http_response *created = call(
        "POST", "/v1/cases", commune,
        "{\"child_id\":\"" CHILD "\",\"received_at\":\"2020-04-28T08:00:00+07:00\","
        "\"source\":\"hotline_111\",\"concerns\":[\"violence\"],"
        "\"summary\":\"Hoa bị đánh\"}");
    assert_int_equal(created->status, 201);
    char case_id[40], path[96];
    snprintf(case_id, sizeof case_id, "%s", json_text(created->json, "id", NULL));
    http_free(created);
    snprintf(path, sizeof path, "/v1/cases/%s/transitions", case_id);
    const char *headers[] = {"If-Match: \"1\"", NULL};
    struct http_options step = {
        .method = "POST", .path = path, .token = commune, .headers = headers,
        .body = "{\"to\":\"initial_assessed\",\"at\":\"2020-04-28T08:30:00+07:00\","
                "\"form\":{\"harm_level\":\"high\",\"serious_risk\":true}}"};
    struct http_response *assessed = http_call(&api, &step);
    assert_int_equal(assessed->status, 200);
    http_free(assessed);

    /* The alerts' schedule runs every 15 minutes from the first run. */
    const char *moments[] = {"2020-04-28T13:59:00+07:00", "2020-04-28T14:14:00+07:00",
                             "2020-04-28T14:30:00+07:00", "2020-04-28T19:00:00+07:00",
                             "2020-04-28T20:00:00+07:00"};
    const size_t expected[] = {0, 1, 0, 1, 1};
    const char *alerts[] = {NULL, "due_in_6h", NULL, "due_in_1h", "missed"};
    for (size_t i = 0; i < sizeof moments / sizeof moments[0]; i++) {
        assert_int_equal(run_worker(moments[i]), expected[i]);
        if (expected[i] == 0)
            continue;
        const struct received_webhook *request = receiver_get(receiver_count() - 1);
        assert_string_equal(request->path, "/hook/29980");
        verify_signature(request);
        assert_null(strstr(request->body, "Hoa"));
        assert_null(strstr(request->body, CHILD));
        json_t *body = json_loads(request->body, 0, NULL);
        assert_string_equal(json_text(body, "type", NULL), "case.deadline");
        assert_string_equal(json_text(body, "data", "case_id", NULL), case_id);
        assert_string_equal(json_text(body, "data", "deadline", NULL), "emergency");
        assert_string_equal(json_text(body, "data", "alert", NULL), alerts[i]);
        assert_string_equal(json_text(body, "data", "due_at", NULL),
                            "2020-04-28T20:00:00+07:00");
        json_decref(body);
    }
    /* Nothing is said twice: not under the keys written now, nor under
     * those written before keys named the due time. */
    assert_int_equal(run_worker("2020-04-28T22:00:00+07:00"), 0);
    assert_true(harness_query_equals(
        &database,
        "WITH old AS (UPDATE notifications SET dedup_key = regexp_replace(dedup_key, "
        "'^(case:[^:]+:[^:]+:[^:]+):[0-9]+:', '\\1:') WHERE dedup_key LIKE 'case:%' "
        "RETURNING 1) SELECT count(*) FROM old",
        "3"));
    assert_int_equal(run_worker("2020-04-28T22:15:00+07:00"), 0);

    /* A deadline set again, as a re-plan sets the approval and review
     * deadlines again (api/cases/deadlines.c: a new due time, not met): its
     * alerts are said again, for the new due time. */
    update_one_row("UPDATE case_deadlines SET due_at = '2020-04-28T23:00:00+07:00', "
                   "met_at = NULL WHERE case_id = '%s' AND kind = 'emergency' RETURNING 1",
                   case_id);
    assert_int_equal(run_worker("2020-04-28T23:10:00+07:00"), 1);
    json_t *again = json_loads(receiver_get(receiver_count() - 1)->body, 0, NULL);
    assert_string_equal(json_text(again, "data", "alert", NULL), "missed");
    assert_string_equal(json_text(again, "data", "due_at", NULL), "2020-04-28T23:00:00+07:00");
    json_decref(again);
    assert_int_equal(run_worker("2020-04-28T23:30:00+07:00"), 0);
    update_one_row("UPDATE case_deadlines SET met_at = '2020-04-28T23:45:00+07:00' "
                   "WHERE case_id = '%s' AND kind = 'emergency' RETURNING 1",
                   case_id);
}

/* ---- the cycle ------------------------------------------------------------------- */

/* ---- secrets at rest ---------------------------------------------------------- */

/* Checks how many webhook secrets the database holds sealed and unsealed,
 * and how many of the secrets the API handed out it holds readable. */
static void expect_secrets(long sealed, long unsealed, long readable)
{
    char counts[32];
    snprintf(counts, sizeof counts, "%ld %ld", sealed, unsealed);
    assert_true(harness_query_equals(
        &database,
        "SELECT count(*) FILTER (WHERE secret LIKE 'sealed:v1:%') || ' ' || "
        "       count(*) FILTER (WHERE secret NOT LIKE 'sealed:v1:%') "
        "  FROM notification_channels WHERE kind = 'webhook'",
        counts));
    char query[2048] = "SELECT count(*) FROM notification_channels WHERE secret LIKE ANY "
                       "(ARRAY['-'";
    for (size_t i = 0; i <= COMMUNES; i++)
        snprintf(query + strlen(query), sizeof query - strlen(query), ", '%%%s%%'",
                 secrets[i] + strlen("whsec_"));
    snprintf(query + strlen(query), sizeof query - strlen(query), "])");
    snprintf(counts, sizeof counts, "%ld", readable);
    assert_true(harness_query_equals(&database, query, counts));
}

/* The API stores every secret sealed (the harness gives it a key, as `make
 * run` does): the database holds no secret it could sign with.  One is then
 * put back as it was stored before sealing: the next test's deliveries show
 * that the worker signs with sealed and unsealed secrets alike. */
static void secrets_are_stored_sealed(void **state)
{
    (void)state;
    expect_secrets(COMMUNES + 1, 0, 0);
    char update[256];
    snprintf(update, sizeof update,
             "UPDATE notification_channels SET secret = '%s' WHERE url LIKE '%%/hook/%s' "
             "RETURNING 1",
             secrets[1], codes[1]);
    char *updated = harness_query_text(&database, update);
    assert_non_null(updated);
    assert_string_equal(updated, "1");
    free(updated);
    expect_secrets(COMMUNES, 1, 1);
}

/* Runs `baove-admin secrets seal` with the key in key_file, from the key in
 * old_key_file when not NULL; returns its exit status. */
static int seal_secrets(const char *key_file, const char *old_key_file)
{
    char url[600], key[1100];
    snprintf(url, sizeof url, "BAOVE_ADMIN_DATABASE_URL=%s", database.admin_url);
    snprintf(key, sizeof key, "BAOVE_SECRETS_KEY_FILE=%s", key_file);
    const char *env[] = {url, key, NULL};
    const char *argv[] = {harness_env("BAOVE_ADMIN_BIN"), "secrets", "seal",
                          old_key_file != NULL ? "--from-key-file" : NULL, old_key_file, NULL};
    return harness_run(argv, env, NULL, NULL);
}

/* Every stored secret, in the channels' order. */
static char *stored_secrets(void)
{
    char *text = harness_query_text(
        &database, "SELECT string_agg(secret, ' ' ORDER BY id) FROM notification_channels");
    assert_non_null(text);
    return text;
}

/* `baove-admin secrets seal` seals what was stored unsealed, once.  Then a
 * new key replaces the harness's (--from-key-file), and the harness's
 * replaces it again: the deliveries of the tests after this one are signed
 * with secrets sealed three times over. */
static void the_admin_seals_the_rest_and_replaces_the_key(void **state)
{
    (void)state;
    const char *key = harness_secrets_key_file();
    expect_secrets(COMMUNES, 1, 1);
    assert_int_equal(seal_secrets(key, NULL), 0);
    expect_secrets(COMMUNES + 1, 0, 0);
    char *sealed = stored_secrets();
    assert_int_equal(seal_secrets(key, NULL), 0); /* nothing left */
    char *unchanged = stored_secrets();
    assert_string_equal(unchanged, sealed);
    free(unchanged);

    char new_key[1100];
    snprintf(new_key, sizeof new_key, "%s.new", key);
    FILE *file = fopen(new_key, "we");
    assert_non_null(file);
    for (int i = 0; i < 32; i++)
        fprintf(file, "%02x", (unsigned)(0xa5 ^ i));
    assert_int_equal(fclose(file), 0);
    /* The old key named wrongly: nothing opens, nothing changes. */
    assert_int_equal(seal_secrets(new_key, new_key), 1);
    unchanged = stored_secrets();
    assert_string_equal(unchanged, sealed);
    free(unchanged);
    assert_int_equal(seal_secrets(new_key, key), 0);
    char *resealed = stored_secrets();
    assert_string_not_equal(resealed, sealed);
    expect_secrets(COMMUNES + 1, 0, 0);
    assert_int_equal(seal_secrets(new_key, key), 0); /* sealed with it already */
    unchanged = stored_secrets();
    assert_string_equal(unchanged, resealed);
    free(unchanged);
    assert_int_equal(seal_secrets(key, new_key), 0);
    expect_secrets(COMMUNES + 1, 0, 0);
    unlink(new_key);
    free(resealed);
    free(sealed);
}

static void fourteen_days_before(void **state)
{
    (void)state;
    size_t first = receiver_count();
    assert_int_equal(run_worker("2020-04-29T07:00:00+07:00"), COMMUNES);
    for (size_t i = first; i < first + COMMUNES; i++) {
        const struct received_webhook *request = receiver_get(i);
        assert_int_equal(request->answered, 200);
        assert_null(strstr(request->path, "870"));
        json_t *data = reminder_data(request, "2020S1", -14);
        assert_int_equal(json_integer_value(json_object_get(data, "days_left")), 14);
        const char *text = json_text(data, "text", NULL);
        assert_non_null(strstr(text, "Báo cáo sơ kết 6 tháng năm 2020"));
        assert_non_null(strstr(text, "hạn nộp ngày 13/05/2020: còn 14 ngày"));
        /* A link to the front-end's page; the API path is data only. */
        char link[96];
        snprintf(link, sizeof link, "https://baove.example/reports/2020S1/%s",
                 json_text(data, "unit", NULL));
        assert_string_equal(json_text(data, "link", NULL), link);
        assert_non_null(strstr(text, link));
        assert_null(strstr(text, "/v1/"));
        assert_non_null(strstr(json_text(data, "submit_path", NULL), "/v1/reports/2020S1/"));
        assert_non_null(strstr(json_text(data, "text_en", NULL), "14 days left"));
        json_decref(data);
    }
    assert_true(webhook_ids_distinct(first, first + COMMUNES));
    /* The same morning again: nothing new. */
    assert_int_equal(run_worker("2020-04-29T07:00:00+07:00"), 0);
    assert_int_equal(run_worker("2020-04-29T18:00:00+07:00"), 0);
    struct http_response *outbox = http_get(&api, "/v1/notifications?status=delivered", district);
    assert_int_equal(outbox->status, 200);
    /* The reminders and the case's four alerts (three, then its deadline's
     * second miss). */
    assert_int_equal(json_array_size(json_object_get(outbox->json, "items")), COMMUNES + 4);
    http_free(outbox);
}

static void catch_up_after_downtime(void **state)
{
    (void)state;
    /* Xã Long Khánh A saves its draft on 28/4 and submits on 1/5, once the
     * cut-off day (30/4) has ended: through an API standing on that day. */
    struct http_response *saved =
        call("PUT", "/v1/reports/2020S1/29980", commune,
             "{\"narrative\":{\"results\":\"Đã hoàn thành.\"},\"activities\":{}}");
    assert_int_equal(saved->status, 201);
    http_free(saved);
    const char *may_first[] = {"BAOVE_NOW=2020-05-01T09:00:00+07:00", NULL};
    struct test_process after_cut_off;
    assert_true(harness_start_api(&database, may_first, &after_cut_off));
    char *token = harness_login(&after_cut_off, "demo_commune", "baove-demo");
    assert_non_null(token);
    struct http_options submit = {.method = "POST", .path = "/v1/reports/2020S1/29980/submit",
                                  .token = token};
    struct http_response *submitted = http_call(&after_cut_off, &submit);
    assert_int_equal(submitted->status, 200);
    http_free(submitted);
    free(token);
    assert_int_equal(harness_stop(&after_cut_off), 0);
    assert_int_equal(run_worker("2020-05-04T07:00:00+07:00"), 0);

    /* Down from 5/5 (−7 on 6/5 and −3 on 10/5 missed) until 12/5. */
    const unsigned fail_once[] = {500};
    receiver_script("/hook/29956", fail_once, 1);
    size_t first = receiver_count();
    assert_int_equal(run_worker("2020-05-12T07:00:00+07:00"), COMMUNES - 1);
    char failed_id[64] = "";
    for (size_t i = first; i < receiver_count(); i++) {
        const struct received_webhook *request = receiver_get(i);
        assert_string_not_equal(request->path, "/hook/29980");
        json_t *data = reminder_data(request, "2020S1", -1);
        assert_non_null(strstr(json_text(data, "text", NULL), "còn 1 ngày"));
        json_decref(data);
        if (strcmp(request->path, "/hook/29956") == 0) {
            assert_int_equal(request->answered, 500);
            snprintf(failed_id, sizeof failed_id, "%s", request->id);
        }
    }
    assert_true(failed_id[0] != '\0');
    struct http_response *waiting = http_get(&api, "/v1/notifications?unit=29956&status=failed",
                                             district);
    assert_int_equal(json_array_size(json_object_get(waiting->json, "items")), 1);
    assert_string_equal(json_text(json_array_get(json_object_get(waiting->json, "items"), 0),
                                  "last_error", NULL), "the receiver answered HTTP 500");
    http_free(waiting);

    /* Half an hour later the retry is due: the same webhook-id, once. */
    assert_int_equal(run_worker("2020-05-12T07:30:00+07:00"), 1);
    const struct received_webhook *retry = receiver_get(receiver_count() - 1);
    assert_string_equal(retry->path, "/hook/29956");
    assert_string_equal(retry->id, failed_id);
    assert_int_equal(retry->answered, 200);
    json_decref(reminder_data(retry, "2020S1", -1));
    struct http_response *delivered =
        http_get(&api, "/v1/notifications?unit=29956&status=delivered", district);
    json_t *items = json_object_get(delivered->json, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(json_text(json_array_get(items, 0), "id", NULL), failed_id);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(items, 0), "attempts")),
                     2);
    http_free(delivered);
    assert_int_equal(run_worker("2020-05-12T07:45:00+07:00"), 0);

    /* Sent again on request: pending, then delivered with the same id. */
    char resend[96];
    snprintf(resend, sizeof resend, "/v1/notifications/%s/resend", failed_id);
    struct http_response *queued = call("POST", resend, district, NULL);
    assert_int_equal(queued->status, 200);
    assert_string_equal(json_text(queued->json, "status", NULL), "pending");
    http_free(queued);
    assert_int_equal(run_worker("2020-05-12T08:00:00+07:00"), 1);
    assert_string_equal(receiver_get(receiver_count() - 1)->id, failed_id);
}

static void overdue_to_commune_and_district(void **state)
{
    (void)state;
    const unsigned gone[] = {410};
    receiver_script("/hook/29962", gone, 1);
    size_t first = receiver_count();
    assert_int_equal(run_worker("2020-05-14T07:00:00+07:00"), 2 * (COMMUNES - 1));
    size_t to_district = 0;
    for (size_t i = first; i < receiver_count(); i++) {
        const struct received_webhook *request = receiver_get(i);
        json_t *data = reminder_data(request, "2020S1", 1);
        assert_non_null(strstr(json_text(data, "text", NULL), "đã quá hạn 1 ngày"));
        /* One day, not "1 days". */
        assert_non_null(strstr(json_text(data, "text_en", NULL), ": 1 day overdue."));
        assert_int_equal(json_integer_value(json_object_get(data, "days_overdue")), 1);
        assert_string_not_equal(json_text(data, "unit", NULL), "29980");
        json_decref(data);
        to_district += strcmp(request->path, "/hook/870") == 0;
    }
    assert_int_equal(to_district, COMMUNES - 1);
    assert_true(webhook_ids_distinct(first, receiver_count()));

    /* The district's e-mail: one per overdue commune, subject encoded. */
    assert_int_equal(smtp_sink_count(), COMMUNES - 1);
    assert_string_equal(smtp_sink_recipient(0), "<phong-ldtbxh@hongngu.gov.vn>");
    const char *message = smtp_sink_message(0);
    assert_non_null(strstr(message, "Subject: =?UTF-8?B?"));
    assert_non_null(strstr(message, "Content-Type: text/plain; charset=UTF-8"));
    assert_non_null(strstr(message, "đã quá hạn 1 ngày"));

    /* 410: the channel is disabled, the notification dead. */
    struct http_response *channels = http_get(&api, "/v1/units/29962/channels", district);
    json_t *channel = json_array_get(json_object_get(channels->json, "items"), 0);
    assert_true(json_is_false(json_object_get(channel, "enabled")));
    assert_string_equal(json_text(channel, "disabled_reason", NULL),
                        "the receiver answered 410 Gone");
    http_free(channels);
    struct http_response *dead = http_get(&api, "/v1/notifications?unit=29962&status=dead",
                                          district);
    json_t *items = json_object_get(dead->json, "items");
    assert_int_equal(json_array_size(items), 1);
    char path[96];
    snprintf(path, sizeof path, "/v1/notifications/%s/resend",
             json_text(json_array_get(items, 0), "id", NULL));
    http_free(dead);
    struct http_response *refused = call("POST", path, district, NULL);
    assert_int_equal(refused->status, 409);
    http_free(refused);
    assert_int_equal(run_worker("2020-05-14T09:00:00+07:00"), 0);
}

/* Runs the reminders job's own function as the application role, standing
 * at now, and checks what it reports. */
static void expect_reminders(const char *now, const char *expected)
{
    PGconn *connection = PQconnectdb(database.app_url);
    assert_int_equal(PQstatus(connection), CONNECTION_OK);
    const char *values[] = {now};
    PGresult *result = PQexecParams(connection,
                                    "SELECT report_reminders('{}', $1::timestamptz)::text", 1,
                                    NULL, values, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(result), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(result, 0, 0), expected);
    PQclear(result);
    PQfinish(connection);
}

static void two_workers_send_each_reminder_once(void **state)
{
    (void)state;
    /* The annual report's −14 is written first (the job's own function,
     * as the worker would run it), so both workers compete to deliver. */
    /* 10 communes; Thường Thới Hậu A's channel is disabled since its 410. */
    expect_reminders("2020-10-29T07:00:00+07:00", "{\"reminded\": 10, \"notifications\": 9}");

    receiver_set_delay_ms(300);
    size_t first = receiver_count();
    struct test_process one, two;
    start_worker("2020-10-29T07:00:00+07:00", &one);
    start_worker("2020-10-29T07:00:00+07:00", &two);
    finish_worker(&one);
    finish_worker(&two);
    receiver_set_delay_ms(0);
    assert_int_equal(receiver_count() - first, COMMUNES - 1);
    assert_true(webhook_ids_distinct(first, receiver_count()));
    for (size_t i = first; i < receiver_count(); i++)
        json_decref(reminder_data(receiver_get(i), "2020", -14));
}

/* A notification still failing 3 days after it was written is given up. */
static void gives_up_after_three_days(void **state)
{
    (void)state;
    struct http_response *sent =
        http_get(&api, "/v1/notifications?unit=29995&status=delivered", district);
    json_t *items = json_object_get(sent->json, "items");
    /* Newest first: −14 (29/4), −1, +1, annual −14; the oldest is last. */
    json_t *oldest = json_array_get(items, json_array_size(items) - 1);
    assert_string_equal(json_text(oldest, "created_at", NULL), "2020-04-29T07:00:00+07:00");
    char id[40], path[96];
    snprintf(id, sizeof id, "%s", json_text(oldest, "id", NULL));
    http_free(sent);
    snprintf(path, sizeof path, "/v1/notifications/%s/resend", id);
    struct http_response *queued = call("POST", path, district, NULL);
    assert_int_equal(queued->status, 200);
    http_free(queued);
    const unsigned failing[] = {500};
    receiver_script("/hook/29995", failing, 1);
    /* 2/5 08:00 is past 29/4 07:00 + 3 days: no further attempt. */
    assert_int_equal(run_worker("2020-05-02T08:00:00+07:00"), 1);
    assert_string_equal(receiver_get(receiver_count() - 1)->id, id);
    struct http_response *dead =
        http_get(&api, "/v1/notifications?unit=29995&status=dead", district);
    items = json_object_get(dead->json, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(json_text(json_array_get(items, 0), "id", NULL), id);
    assert_true(json_is_null(json_object_get(json_array_get(items, 0), "next_attempt_at")));
    http_free(dead);
    assert_int_equal(run_worker("2020-05-09T08:00:00+07:00"), 0);

    /* While a worker holds it (as a retry does, its status unchanged), a
     * resend is refused: it would clear the lease under the sending worker. */
    update_one_row("UPDATE notifications SET leased_by = 'another worker', "
                   "lease_expires_at = now() + interval '1 minute' WHERE id = '%s' RETURNING 1",
                   id);
    struct http_response *busy = call("POST", path, district, NULL);
    assert_int_equal(busy->status, 409);
    assert_string_equal(json_text(busy->json, "type", NULL), "/problems/conflict");
    http_free(busy);
    update_one_row("UPDATE notifications SET leased_by = NULL, lease_expires_at = NULL "
                   "WHERE id = '%s' AND status = 'dead' RETURNING 1",
                   id);
}

/* Pledge instalments due within 7 days, and overdue ones, to the receiving
 * commune: once each, without the donor's name. */
static void fund_instalments_due_and_overdue(void **state)
{
    (void)state;
    struct http_response *donor =
        call("POST", "/v1/fund/donors", district,
             "{\"unit\":\"29983\",\"kind\":\"individual\",\"name\":\"Lê Văn Phúc\"}");
    assert_int_equal(donor->status, 201);
    char body[512];
    snprintf(body, sizeof body,
             "{\"donor_id\":\"%s\",\"unit\":\"29983\",\"year\":2020,"
             "\"amount_vnd\":5000000,\"pledged_on\":\"2020-03-01\",\"instalments\":["
             "{\"due_on\":\"2020-10-20\",\"amount_vnd\":2000000},"
             "{\"due_on\":\"2020-11-05\",\"amount_vnd\":3000000}]}",
             json_text(donor->json, "id", NULL));
    http_free(donor);
    struct http_response *pledge = call("POST", "/v1/fund/pledges", district, body);
    assert_int_equal(pledge->status, 201);
    char pledge_id[40];
    snprintf(pledge_id, sizeof pledge_id, "%s", json_text(pledge->json, "id", NULL));
    http_free(pledge);

    size_t first = receiver_count();
    assert_int_equal(run_worker("2020-10-30T07:00:00+07:00"), 2);
    bool seen_overdue = false, seen_soon = false;
    for (size_t i = first; i < receiver_count(); i++) {
        const struct received_webhook *request = receiver_get(i);
        assert_string_equal(request->path, "/hook/29983");
        verify_signature(request);
        assert_null(strstr(request->body, "Phúc"));
        json_t *message = json_loads(request->body, 0, NULL);
        assert_string_equal(json_text(message, "type", NULL), "fund.instalment");
        assert_string_equal(json_text(message, "data", "pledge_id", NULL), pledge_id);
        const char *text = json_text(message, "data", "text", NULL);
        if (strcmp(json_text(message, "data", "state", NULL), "overdue") == 0) {
            seen_overdue = true;
            assert_string_equal(json_text(message, "data", "due_on", NULL), "2020-10-20");
            assert_non_null(strstr(text, "đã quá hạn từ ngày 20/10/2020: còn 2.000.000 đồng"));
        } else {
            seen_soon = true;
            assert_string_equal(json_text(message, "data", "state", NULL), "due_soon");
            assert_non_null(strstr(text, "đến hạn ngày 05/11/2020: còn 3.000.000 đồng"));
            assert_int_equal(json_integer_value(json_object_get(json_object_get(message, "data"),
                                                                "days_left")), 6);
        }
        json_decref(message);
    }
    assert_true(seen_overdue && seen_soon);
    assert_int_equal(run_worker("2020-10-31T07:00:00+07:00"), 0);
}

/* A worker that is down from 31/10 until 21/11 missed every reminder of the
 * annual report after −14 (due 12/11; its last offset, +7, was 19/11, more
 * than a day ago): it says nothing about it, nor, months later, about
 * anything of 2020.  The instalment of 5/11 is overdue now: that it says. */
static void silent_about_periods_long_past(void **state)
{
    (void)state;
    size_t first = receiver_count();
    assert_int_equal(run_worker("2020-11-21T07:00:00+07:00"), 1);
    json_t *message = json_loads(receiver_get(first)->body, 0, NULL);
    assert_string_equal(json_text(message, "type", NULL), "fund.instalment");
    assert_string_equal(json_text(message, "data", "state", NULL), "overdue");
    json_decref(message);
    assert_int_equal(run_worker("2021-03-01T07:00:00+07:00"), 0);
}

/* A due date moved later: the reminders that, counted from the new date,
 * are still to come go out again at their new moments (the ones recorded
 * for the old date used to silence them).  The annual report's 12/11 moves
 * to 19/11: on 5/11 its −14 reminder goes out again to the ten communes. */
static void a_due_date_moved_later_reminds_again(void **state)
{
    (void)state;
    struct http_response *period = http_get(&api, "/v1/report-periods/2020", district);
    assert_int_equal(period->status, 200);
    char body[256], if_match[64];
    snprintf(body, sizeof body,
             "{\"covers_from\":\"%s\",\"covers_to\":\"%s\",\"due_on\":\"2020-11-19\"}",
             json_text(period->json, "covers_from", NULL),
             json_text(period->json, "covers_to", NULL));
    snprintf(if_match, sizeof if_match, "If-Match: %s", http_header(period, "ETag"));
    http_free(period);
    struct http_options move = {.method = "PUT", .path = "/v1/report-periods/2020",
                                .token = district, .body = body,
                                .headers = (const char *const[]){if_match, NULL}};
    struct http_response *moved = http_call(&api, &move);
    assert_int_equal(moved->status, 200);
    assert_string_equal(json_text(moved->json, "due_on", NULL), "2020-11-19");
    http_free(moved);
    expect_reminders("2020-11-05T07:00:00+07:00", "{\"reminded\": 10, \"notifications\": 9}");
}

int main(void)
{
    harness_init("reminders");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(case_deadline_alerts_carry_no_names),
        cmocka_unit_test(secrets_are_stored_sealed),
        cmocka_unit_test(fourteen_days_before),
        cmocka_unit_test(the_admin_seals_the_rest_and_replaces_the_key),
        cmocka_unit_test(catch_up_after_downtime),
        cmocka_unit_test(overdue_to_commune_and_district),
        cmocka_unit_test(two_workers_send_each_reminder_once),
        cmocka_unit_test(gives_up_after_three_days),
        cmocka_unit_test(fund_instalments_due_and_overdue),
        cmocka_unit_test(silent_about_periods_long_past),
        cmocka_unit_test(a_due_date_moved_later_reminds_again),
    };
    int failed = cmocka_run_group_tests_name("reminders", tests, setup, teardown);
    harness_finish();
    return failed;
}
