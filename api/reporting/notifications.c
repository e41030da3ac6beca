/* Notification channels of a unit (PUT/GET/DELETE
 * /v1/units/{code}/channels[/{name}]) and the outbox the worker delivers
 * from (GET /v1/notifications, POST /v1/notifications/{id}/resend).
 *
 * A webhook channel gets a signing secret when it is created (or turns
 * into a webhook): the response shows it that once, nothing shows it
 * again.  Webhook URLs are checked here (https, public addresses) and the
 * worker checks the address again at every delivery. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reporting/reporting.h"
#include "json.h"
#include "operation/legacy.h"
#include "webhook.h"

#define CHANNEL_DOCUMENT                                                                    \
    "json_build_object('unit', u.code, 'name', c.name, 'kind', c.kind, 'url', c.url, "      \
    "  'address', c.address, 'enabled', c.enabled, 'disabled_reason', c.disabled_reason, "  \
    "  'version', c.version, 'created_at', rfc3339(c.created_at), "                         \
    "  'updated_at', rfc3339(c.updated_at))"

struct channel_operation {
    struct request *request;
    const char *unit_code;
    const char *name;
    json_t *body;
    long long unit_id;
    unsigned status;
    json_t *document;
    char channel_id[AUTH_UUID_SIZE];
    const char *refusal;
};

static bool channel_name_valid(const char *name)
{
    size_t length = strlen(name);
    if (length == 0 || length > 63)
        return false;
    for (size_t i = 0; i < length; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  (i > 0 && (c == '_' || c == '-'));
        if (!ok)
            return false;
    }
    return true;
}

static enum db_outcome refuse_channel(struct channel_operation *operation,
                                      enum problem_type type, const char *refusal,
                                      const char *detail)
{
    reply_problem(operation->request, type, "%s", detail);
    operation->refusal = refusal;
    return DB_ROLLBACK;
}

/* The unit in the caller's scope; false when the transaction must end. */
static bool enter_unit(struct channel_operation *operation, enum db_outcome *outcome)
{
    if (!scope_enter(operation->request, outcome))
        return false;
    operation->unit_id = scope_unit(operation->request, operation->unit_code, outcome);
    if (operation->unit_id < 0)
        return false;
    if (operation->unit_id == 0) {
        *outcome = refuse_channel(operation, PROBLEM_NOT_FOUND, "not_found",
                                  "No such unit in your scope.");
        return false;
    }
    return true;
}

static bool audit_channel(struct channel_operation *operation, const char *action,
                          enum db_outcome *outcome)
{
    char ids[48];
    snprintf(ids, sizeof ids, "{%s}", operation->channel_id);
    if (audit_write(operation->request, action, "notification_channels", ids,
                    operation->unit_id, "success"))
        return true;
    *outcome = DB_FAILED;
    return false;
}

static void answer_channel(struct channel_operation *operation, enum db_outcome outcome,
                           const char *action)
{
    struct request *request = operation->request;
    if (outcome == DB_COMMIT && operation->status == 204) {
        reply_empty(request, 204);
    } else if (outcome == DB_COMMIT && operation->document != NULL) {
        reply_json(request, operation->status, operation->document);
        operation->document = NULL;
    } else if (!request->replied) {
        reply_problem(request, PROBLEM_INTERNAL, "The request could not be completed.");
    }
    if (operation->refusal != NULL)
        audit_refusal(request, action, "notification_channels",
                      operation->channel_id[0] != '\0' ? operation->channel_id : NULL,
                      operation->refusal);
    json_decref(operation->document);
}

/* ---- PUT ------------------------------------------------------------------ */

static const char *const channel_kinds[] = {"webhook", "email", NULL};

static const struct json_field channel_fields[] = {
    {.name = "kind", .kind = JSON_FIELD_ENUM, .required = true, .choices = channel_kinds},
    {.name = "url", .kind = JSON_FIELD_STRING, .min_length = 1, .max_length = 2000},
    {.name = "address", .kind = JSON_FIELD_STRING, .min_length = 3, .max_length = 254},
};

static json_t *check_channel(const json_t *body)
{
    json_t *errors = json_array();
    if (!json_check_fields(body, channel_fields,
                           sizeof channel_fields / sizeof channel_fields[0], "", false, errors))
        return errors;
    bool webhook = strcmp(json_member_string(body, "kind"), "webhook") == 0;
    const char *url = json_member_string(body, "url");
    const char *address = json_member_string(body, "address");
    if (webhook) {
        const char *refusal = url != NULL ? webhook_url_refusal(url) : "is required";
        if (refusal != NULL)
            problem_add_field_error(errors, "/url", "%s", refusal);
        if (address != NULL)
            problem_add_field_error(errors, "/address", "is only for e-mail channels");
    } else {
        const char *at = address != NULL ? strchr(address, '@') : NULL;
        if (at == NULL || at == address || at[1] == '\0' || strchr(at + 1, '@') != NULL ||
            strpbrk(address, " \t\r\n<>,;\"") != NULL)
            problem_add_field_error(errors, "/address", "must be an e-mail address");
        if (url != NULL)
            problem_add_field_error(errors, "/url", "is only for webhook channels");
    }
    return errors;
}

static enum db_outcome put_channel(PGconn *connection, void *context)
{
    (void)connection;
    struct channel_operation *operation = context;
    enum db_outcome outcome = DB_COMMIT;
    if (!enter_unit(operation, &outcome))
        return outcome;
    bool webhook = strcmp(json_member_string(operation->body, "kind"), "webhook") == 0;
    char secret[WEBHOOK_SECRET_SIZE];
    webhook_secret_generate(secret);
    int64_t now = clock_now_us();
    struct db_params params;
    db_params_init(&params);
    db_param_integer(&params, operation->unit_id);
    db_param_text(&params, operation->name);
    db_param_text(&params, json_member_string(operation->body, "kind"));
    db_param_text(&params, webhook ? json_member_string(operation->body, "url") : NULL);
    db_param_text(&params, webhook ? NULL : json_member_string(operation->body, "address"));
    db_param_text(&params, webhook ? secret : NULL);
    db_param_instant(&params, now);
    /* A channel keeps its secret while it stays a webhook; saving it again
     * re-enables it (after a 410 disabled it). */
    PGresult *result = registry_query(
        operation->request,
        "INSERT INTO notification_channels AS c (unit_id, name, kind, url, address, secret, "
        "                                        created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $7) "
        "ON CONFLICT (unit_id, name) DO UPDATE SET kind = EXCLUDED.kind, url = EXCLUDED.url, "
        "    address = EXCLUDED.address, "
        "    secret = CASE WHEN c.kind = 'webhook' AND EXCLUDED.kind = 'webhook' "
        "                  THEN c.secret ELSE EXCLUDED.secret END, "
        "    enabled = true, disabled_reason = NULL, version = c.version + 1, "
        "    updated_at = EXCLUDED.updated_at "
        /* The secret generated now is stored only when the channel became
         * a webhook now; xmax is 0 for a row this statement inserted. */
        "RETURNING c.id, (SELECT " CHANNEL_DOCUMENT " FROM units u WHERE u.id = c.unit_id)::text, "
        "    c.secret IS NOT DISTINCT FROM $6 AND $6 IS NOT NULL, c.xmax = 0",
        &params, &outcome);
    if (result == NULL)
        return outcome;
    snprintf(operation->channel_id, sizeof operation->channel_id, "%s", db_text(result, 0, 0));
    operation->document = json_loads(db_text(result, 0, 1), 0, NULL);
    bool new_secret = db_bool(result, 0, 2);
    operation->status = db_bool(result, 0, 3) ? 201 : 200;
    PQclear(result);
    if (operation->document == NULL)
        return DB_FAILED;
    if (new_secret)
        json_object_set_new(operation->document, "secret", json_string(secret));
    sodium_memzero(secret, sizeof secret);
    audit_channel(operation, operation->status == 201 ? "create" : "update", &outcome);
    return outcome;
}

void handle_channel_put(struct request *request)
{
    struct channel_operation operation = {.request = request,
                                          .unit_code = route_param(&request->match, "code"),
                                          .name = route_param(&request->match, "name")};
    if (!channel_name_valid(operation.name)) {
        json_t *errors = json_array();
        problem_add_parameter_error(errors, "name",
                                    "must be 1 to 63 lower-case letters, digits, _ or -, "
                                    "starting with a letter or digit");
        reply_problem_errors(request, PROBLEM_INVALID_PARAMETER, "The channel name is invalid.",
                             errors);
        return;
    }
    json_t *body = request_json_body(request);
    if (body == NULL)
        return;
    json_t *errors = check_channel(body);
    if (json_array_size(errors) > 0) {
        reply_problem_errors(request, PROBLEM_VALIDATION, "The channel is invalid.", errors);
        audit_refusal(request, "update", "notification_channels", NULL, "invalid");
    } else {
        json_decref(errors);
        operation.body = body;
        answer_channel(&operation, db_transaction(request->database, put_channel, &operation),
                       "update");
    }
    json_decref(body);
}

/* ---- GET list, DELETE ------------------------------------------------------ */

static enum db_outcome list_channels(PGconn *connection, void *context)
{
    (void)connection;
    struct channel_operation *operation = context;
    enum db_outcome outcome = DB_COMMIT;
    if (!enter_unit(operation, &outcome))
        return outcome;
    struct db_params params;
    db_params_init(&params);
    db_param_integer(&params, operation->unit_id);
    PGresult *result = registry_query(
        operation->request,
        "SELECT json_build_object('items', coalesce(json_agg(" CHANNEL_DOCUMENT
        "   ORDER BY c.name), '[]'), 'next_cursor', NULL)::text "
        "  FROM notification_channels c JOIN units u ON u.id = c.unit_id WHERE c.unit_id = $1",
        &params, &outcome);
    if (result == NULL)
        return outcome;
    operation->document = json_loads(db_text(result, 0, 0), 0, NULL);
    operation->status = 200;
    PQclear(result);
    return operation->document != NULL ? DB_COMMIT : DB_FAILED;
}

void handle_channels_list(struct request *request)
{
    struct channel_operation operation = {.request = request,
                                          .unit_code = route_param(&request->match, "code")};
    answer_channel(&operation, db_transaction(request->database, list_channels, &operation),
                   "list");
}

static enum db_outcome delete_channel(PGconn *connection, void *context)
{
    (void)connection;
    struct channel_operation *operation = context;
    enum db_outcome outcome = DB_COMMIT;
    if (!enter_unit(operation, &outcome))
        return outcome;
    struct db_params params;
    db_params_init(&params);
    db_param_integer(&params, operation->unit_id);
    db_param_text(&params, operation->name);
    db_param_instant(&params, clock_now_us());
    /* What was waiting for this channel will never go anywhere now. */
    PGresult *result = registry_query(
        operation->request,
        "WITH gone AS (DELETE FROM notification_channels WHERE unit_id = $1 AND name = $2 "
        "              RETURNING id), "
        "cancelled AS (UPDATE notifications n SET status = 'cancelled', "
        "                     last_error = 'channel deleted', lease_expires_at = NULL, "
        "                     leased_by = NULL "
        "               WHERE n.channel_id IN (SELECT id FROM gone) "
        "                 AND n.status IN ('pending', 'failed') AND $3::timestamptz IS NOT NULL) "
        "SELECT id FROM gone",
        &params, &outcome);
    if (result == NULL)
        return outcome;
    bool found = PQntuples(result) == 1;
    if (found)
        snprintf(operation->channel_id, sizeof operation->channel_id, "%s",
                 db_text(result, 0, 0));
    PQclear(result);
    if (!found)
        return refuse_channel(operation, PROBLEM_NOT_FOUND, "not_found", "No such channel.");
    operation->status = 204;
    audit_channel(operation, "delete", &outcome);
    return outcome;
}

void handle_channel_delete(struct request *request)
{
    struct channel_operation operation = {.request = request,
                                          .unit_code = route_param(&request->match, "code"),
                                          .name = route_param(&request->match, "name")};
    answer_channel(&operation, db_transaction(request->database, delete_channel, &operation),
                   "delete");
}

/* ---- the outbox ------------------------------------------------------------ */

#define NOTIFICATION_DOCUMENT                                                               \
    "json_build_object('id', n.id, 'unit', u.code, 'channel', c.name, 'kind', n.kind, "     \
    "  'status', n.status, 'attempts', n.attempts, "                                        \
    "  'next_attempt_at', CASE WHEN n.status IN ('pending', 'failed') "                    \
    "                          THEN rfc3339(n.next_attempt_at) END, "                       \
    "  'last_error', n.last_error, 'delivered_at', rfc3339(n.delivered_at), "               \
    "  'created_at', rfc3339(n.created_at), 'payload', n.payload)"

static const char *const notification_statuses[] = {"pending", "delivered", "failed", "dead",
                                                    "cancelled", NULL};

#define NOTIFICATIONS_PAGE 100

struct notification_list {
    struct request *request;
    const char *unit;
    const char *status;
    const char *cursor;
    char *body;
    bool not_found;
};

static enum db_outcome read_notifications(PGconn *connection, void *context)
{
    (void)connection;
    struct notification_list *list = context;
    enum db_outcome outcome = DB_COMMIT;
    if (!scope_enter(list->request, &outcome))
        return outcome;
    long long unit_id = scope_list_filter(list->request, list->unit, &list->not_found, &outcome);
    if (unit_id < 0)
        return outcome;
    char today[CLOCK_DATE_SIZE];
    registry_today(today);
    struct db_params params;
    db_params_init(&params);
    db_param_id(&params, unit_id);
    db_param_text(&params, today);
    db_param_text(&params, list->status);
    db_param_text(&params, list->cursor);
    db_param_integer(&params, NOTIFICATIONS_PAGE);
    /* Newest first; the cursor is the position (created_at in
     * microseconds, id) of the last item of the previous page. */
    PGresult *result = registry_query(
        list->request,
        "WITH page AS (SELECT n.*, row_number() OVER (ORDER BY n.created_at DESC, n.id DESC) "
        "                  AS rank "
        "  FROM notifications n "
        " WHERE n.unit_id IN (SELECT id FROM scope_units()) "
        "   AND ($1::bigint IS NULL OR n.unit_id IN (SELECT id FROM unit_subtree($1, $2))) "
        "   AND ($3::text IS NULL OR n.status = $3) "
        "   AND ($4::text IS NULL OR (n.created_at, n.id) < "
        "        (to_timestamp(split_part($4, '_', 1)::numeric / 1000000), "
        "         split_part($4, '_', 2)::uuid)) "
        " ORDER BY n.created_at DESC, n.id DESC LIMIT $5 + 1) "
        "SELECT json_build_object('items', coalesce(json_agg(" NOTIFICATION_DOCUMENT
        "         ORDER BY n.rank) FILTER (WHERE n.rank <= $5), '[]'), "
        "  'next_cursor', CASE WHEN count(*) > $5 THEN (SELECT "
        "       (extract(epoch FROM l.created_at) * 1000000)::bigint || '_' || l.id "
        "       FROM page l WHERE l.rank = $5) END)::text "
        "  FROM page n JOIN units u ON u.id = n.unit_id "
        "  LEFT JOIN notification_channels c ON c.id = n.channel_id",
        &params, &outcome);
    if (result == NULL)
        return outcome;
    list->body = strdup(db_text(result, 0, 0));
    PQclear(result);
    return DB_COMMIT;
}

static bool cursor_valid(const char *cursor)
{
    const char *separator = strchr(cursor, '_');
    if (separator == NULL || separator == cursor || separator - cursor > 18)
        return false;
    for (const char *c = cursor; c < separator; c++)
        if (*c < '0' || *c > '9')
            return false;
    return json_is_uuid_text(separator + 1);
}

void handle_notifications_list(struct request *request)
{
    struct notification_list list = {.request = request,
                                     .unit = request_query(request, "unit"),
                                     .status = request_query(request, "status"),
                                     .cursor = request_query(request, "cursor")};
    json_t *errors = json_array();
    bool known_status = list.status == NULL;
    for (size_t i = 0; !known_status && notification_statuses[i] != NULL; i++)
        known_status = strcmp(notification_statuses[i], list.status) == 0;
    if (!known_status)
        problem_add_parameter_error(errors, "status",
                                    "must be pending, delivered, failed, dead or cancelled");
    if (list.cursor != NULL && !cursor_valid(list.cursor))
        problem_add_parameter_error(errors, "cursor", "must be a next_cursor of this list");
    if (json_array_size(errors) > 0) {
        reply_problem_errors(request, PROBLEM_INVALID_PARAMETER, "The query is invalid.",
                             errors);
        return;
    }
    json_decref(errors);
    enum db_outcome outcome = db_transaction(request->database, read_notifications, &list);
    reply_record(request, outcome, &list.body, 200, 0, NULL);
    free(list.body);
}

struct resend {
    struct request *request;
    const char *id;
    char *body;
};

static enum db_outcome resend_notification(PGconn *connection, void *context)
{
    (void)connection;
    struct resend *resend = context;
    enum db_outcome outcome = DB_COMMIT;
    if (!scope_enter(resend->request, &outcome))
        return outcome;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, resend->id);
    db_param_instant(&params, clock_now_us());
    PGresult *result = registry_query(
        resend->request,
        "SELECT n.status, c.enabled FROM notifications n "
        "  LEFT JOIN notification_channels c ON c.id = n.channel_id "
        " WHERE n.id = $1::uuid AND n.unit_id IN (SELECT id FROM scope_units()) "
        "   AND $2::timestamptz IS NOT NULL FOR UPDATE OF n",
        &params, &outcome);
    if (result == NULL)
        return outcome;
    bool found = PQntuples(result) == 1;
    bool sendable = found && db_text(result, 0, 1) != NULL && db_bool(result, 0, 1);
    bool in_flight = found && strcmp(db_text(result, 0, 0), "pending") == 0;
    PQclear(result);
    if (!found) {
        reply_problem(resend->request, PROBLEM_NOT_FOUND, "No such notification.");
        return DB_ROLLBACK;
    }
    if (!sendable || in_flight) {
        reply_problem(resend->request, PROBLEM_CONFLICT,
                      in_flight ? "The notification is already waiting to be sent."
                                : "Its channel is deleted or disabled; save the channel again "
                                  "to enable it.");
        return DB_ROLLBACK;
    }
    result = registry_query(
        resend->request,
        "WITH sent AS (UPDATE notifications SET status = 'pending', attempts = 0, "
        "                     next_attempt_at = $2, delivered_at = NULL, leased_by = NULL, "
        "                     lease_expires_at = NULL WHERE id = $1::uuid RETURNING *), "
        "woken AS (SELECT pg_notify('baove_worker', 'notification')) "
        "SELECT (SELECT " NOTIFICATION_DOCUMENT " FROM sent n JOIN units u ON u.id = n.unit_id "
        "        LEFT JOIN notification_channels c ON c.id = n.channel_id)::text, "
        "       (SELECT count(*) FROM woken)",
        &params, &outcome);
    if (result == NULL)
        return outcome;
    resend->body = strdup(db_text(result, 0, 0));
    PQclear(result);
    char ids[48];
    snprintf(ids, sizeof ids, "{%s}", resend->id);
    return audit_write(resend->request, "update", "notifications", ids,
                       resend->request->principal.unit_id, "success")
               ? DB_COMMIT
               : DB_FAILED;
}

void handle_notification_resend(struct request *request)
{
    struct resend resend = {.request = request,
                            .id = request_uuid_param(request, "id", "notification")};
    if (resend.id == NULL)
        return;
    if (db_transaction(request->database, resend_notification, &resend) == DB_COMMIT) {
        reply_text(request, 200, "application/json", resend.body, strlen(resend.body));
        return;
    }
    free(resend.body);
    if (!request->replied)
        reply_problem(request, PROBLEM_INTERNAL, "The notification could not be resent.");
}
