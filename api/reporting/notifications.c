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
#include "operation/lifecycle.h"
#include "operation/scope.h"
#include "webhook.h"

#define CHANNEL_DOCUMENT                                                                    \
    "json_build_object('unit', u.code, 'name', c.name, 'kind', c.kind, 'url', c.url, "      \
    "  'address', c.address, 'enabled', c.enabled, 'disabled_reason', c.disabled_reason, "  \
    "  'version', c.version, 'created_at', rfc3339(c.created_at), "                         \
    "  'updated_at', rfc3339(c.updated_at))"

/* One request's channel: named by its unit's code and its name. */
struct channel {
    const char *unit_code;
    const char *name;
    char id[AUTH_UUID_SIZE]; /* for the audit entries */
};

/* A created channel is answered without Location: it is found by the
 * unit's list, and its path is the one the client just used. */
static void no_location(const struct operation *operation, char *out, size_t size)
{
    (void)operation;
    snprintf(out, size, "%s", "");
}

static const struct resource channel_resource = {
    .name = "channel", .table = "notification_channels",
    .audit_type = "notification_channels", .locate = no_location};

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

/* The unit in the caller's scope into operation->unit_id; false when the
 * transaction must end. */
static bool enter_unit(struct operation *operation, enum db_outcome *outcome)
{
    struct channel *channel = operation->domain;
    operation->id = NULL; /* of an attempt that was retried */
    operation->unit_id = scope_unit_id(operation, channel->unit_code, outcome);
    if (operation->unit_id < 0)
        return false;
    if (operation->unit_id == 0) {
        *outcome = operation_refuse(operation, PROBLEM_NOT_FOUND, "not_found",
                                    "No such unit in your scope.");
        return false;
    }
    return true;
}

static void run_channel(struct request *request, const struct operation_steps *steps,
                        bool body)
{
    struct channel channel = {.unit_code = route_param(&request->match, "code"),
                              .name = route_param(&request->match, "name")};
    struct operation operation = {.domain = &channel};
    if (operation_begin(&operation, request, &channel_resource, steps, body))
        operation_run(&operation);
    json_decref(operation.body);
}

/* ---- PUT ------------------------------------------------------------------ */

static const char *const channel_kinds[] = {"webhook", "email", NULL};

static const struct json_field channel_fields[] = {
    {.name = "kind", .kind = JSON_FIELD_ENUM, .required = true, .choices = channel_kinds},
    {.name = "url", .kind = JSON_FIELD_STRING, .min_length = 1, .max_length = 2000},
    {.name = "address", .kind = JSON_FIELD_STRING, .min_length = 3, .max_length = 254},
};

static json_t *check_channel(struct operation *operation)
{
    const json_t *body = operation->body;
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

/* Keeps the saved channel, with the secret generated now when the channel
 * just became a webhook (shown this once). */
static enum db_outcome keep_channel(struct operation *operation, const PGresult *result,
                                    const char *secret)
{
    struct channel *channel = operation->domain;
    snprintf(channel->id, sizeof channel->id, "%s", db_text(result, 0, 0));
    operation->id = channel->id;
    json_t *document = json_loads(db_text(result, 0, 1), 0, NULL);
    if (document != NULL && db_bool(result, 0, 2))
        json_object_set_new(document, "secret", json_string(secret));
    bool created = db_bool(result, 0, 3);
    operation->status = created ? 201 : 200;
    operation->change = created ? "create" : "update";
    return operation_keep_json(operation, document) ? DB_COMMIT : DB_FAILED;
}

static enum db_outcome put_channel(struct operation *operation)
{
    struct channel *channel = operation->domain;
    enum db_outcome outcome = DB_COMMIT;
    if (!enter_unit(operation, &outcome))
        return outcome;
    bool webhook = strcmp(json_member_string(operation->body, "kind"), "webhook") == 0;
    char secret[WEBHOOK_SECRET_SIZE], sealed[WEBHOOK_SEALED_SIZE];
    webhook_secret_generate(secret);
    /* Stored sealed when the API has the key (common/webhook.h). */
    const char *stored = webhook_secret_seal(secret, sealed) ? sealed : secret;
    struct db_params params;
    db_params_init(&params);
    db_param_integer(&params, operation->unit_id);
    db_param_text(&params, channel->name);
    db_param_text(&params, json_member_string(operation->body, "kind"));
    db_param_text(&params, webhook ? json_member_string(operation->body, "url") : NULL);
    db_param_text(&params, webhook ? NULL : json_member_string(operation->body, "address"));
    db_param_text(&params, webhook ? stored : NULL);
    db_param_instant(&params, clock_now_us());
    /* A channel keeps its secret while it stays a webhook; saving it again
     * re-enables it (after a 410 disabled it). */
    PGresult *result = operation_query(
        operation,
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
    if (result != NULL) {
        outcome = keep_channel(operation, result, secret);
        PQclear(result);
    }
    sodium_memzero(secret, sizeof secret);
    sodium_memzero(sealed, sizeof sealed);
    return outcome;
}

/* Audited as an update (its refusals); a success as what it did. */
static const struct operation_steps put_steps = {
    .action = "update", .check = check_channel, .invalid_detail = "The channel is invalid.",
    .write = put_channel, .change = "update", .status = 200};

void handle_channel_put(struct request *request)
{
    if (!channel_name_valid(route_param(&request->match, "name"))) {
        json_t *errors = json_array();
        problem_add_parameter_error(errors, "name",
                                    "must be 1 to 63 lower-case letters, digits, _ or -, "
                                    "starting with a letter or digit");
        reply_problem_errors(request, PROBLEM_INVALID_PARAMETER, "The channel name is invalid.",
                             errors);
        return;
    }
    run_channel(request, &put_steps, true);
}

/* ---- GET list, DELETE ------------------------------------------------------ */

static enum db_outcome list_channels(struct operation *operation)
{
    enum db_outcome outcome = DB_COMMIT;
    if (!enter_unit(operation, &outcome))
        return outcome;
    struct db_params params;
    db_params_init(&params);
    db_param_integer(&params, operation->unit_id);
    PGresult *result = operation_query(
        operation,
        "SELECT json_build_object('items', coalesce(json_agg(" CHANNEL_DOCUMENT
        "   ORDER BY c.name), '[]'), 'next_cursor', NULL)::text "
        "  FROM notification_channels c JOIN units u ON u.id = c.unit_id WHERE c.unit_id = $1",
        &params, &outcome);
    if (result == NULL)
        return outcome;
    json_t *list = json_loads(db_text(result, 0, 0), 0, NULL);
    PQclear(result);
    return operation_keep_json(operation, list) ? DB_COMMIT : DB_FAILED;
}

/* Channels are configuration: the list is not audited, its refusals are. */
static const struct operation_steps list_steps = {
    .action = "list", .query = list_channels, .status = 200, .quiet_read = true};

void handle_channels_list(struct request *request)
{
    run_channel(request, &list_steps, false);
}

static enum db_outcome delete_channel(struct operation *operation)
{
    struct channel *channel = operation->domain;
    enum db_outcome outcome = DB_COMMIT;
    if (!enter_unit(operation, &outcome))
        return outcome;
    struct db_params params;
    db_params_init(&params);
    db_param_integer(&params, operation->unit_id);
    db_param_text(&params, channel->name);
    db_param_instant(&params, clock_now_us());
    /* What was waiting for this channel will never go anywhere now. */
    PGresult *result = operation_query(
        operation,
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
    if (found) {
        snprintf(channel->id, sizeof channel->id, "%s", db_text(result, 0, 0));
        operation->id = channel->id;
    }
    PQclear(result);
    if (!found)
        return operation_refuse(operation, PROBLEM_NOT_FOUND, "not_found", "No such channel.");
    return DB_COMMIT;
}

static const struct operation_steps delete_steps = {
    .action = "delete", .write = delete_channel, .change = "delete", .status = 204};

void handle_channel_delete(struct request *request)
{
    run_channel(request, &delete_steps, false);
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

/* The outbox is delivery bookkeeping: only a resend is audited. */
static const struct resource notification_resource;

struct notification_list {
    const char *unit;
    const char *status;
    const char *cursor;
};

static enum db_outcome list_notifications(struct operation *operation)
{
    struct notification_list *list = operation->domain;
    enum db_outcome outcome = DB_COMMIT;
    long long unit_id = scope_list_unit(operation, list->unit, &outcome);
    if (unit_id < 0)
        return outcome;
    char today[CLOCK_DATE_SIZE];
    operation_today(today);
    struct db_params params;
    db_params_init(&params);
    db_param_id(&params, unit_id);
    db_param_text(&params, today);
    db_param_text(&params, list->status);
    db_param_text(&params, list->cursor);
    db_param_integer(&params, NOTIFICATIONS_PAGE);
    /* Newest first; the cursor is the position (created_at in
     * microseconds, id) of the last item of the previous page. */
    return operation_query_document(
        operation,
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
        "  LEFT JOIN notification_channels c ON c.id = n.channel_id", &params);
}

static const struct operation_steps list_notifications_steps = {
    .action = "list", .query = list_notifications, .status = 200, .quiet_read = true,
    .quiet_refusals = true};

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
    struct notification_list list = {.unit = request_query(request, "unit"),
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
    struct operation operation = {.domain = &list};
    if (operation_begin(&operation, request, &notification_resource,
                        &list_notifications_steps, false))
        operation_run(&operation);
}

/* ---- resend ------------------------------------------------------------------ */

/* What the resend needs of the notification, read (locked) by the resource. */
struct resend {
    bool sendable;   /* its channel exists and is enabled */
    bool in_flight;  /* waiting to be sent, or being sent */
};

/* The resend's read: whether a notification is in flight (waiting to be
 * sent, or being sent: a worker's lease on the database's clock, which a
 * retry holds while the row stays `failed`), and whether its channel is
 * enabled.  A resend of a row being sent would clear the lease under the
 * worker and let another send it at the same time. */
#define RESEND_STATE                                                                        \
    "SELECT n.status = 'pending' "                                                          \
    "       OR (n.leased_by IS NOT NULL AND n.lease_expires_at > now()), "                  \
    "       c.enabled FROM notifications n "                                                \
    "  LEFT JOIN notification_channels c ON c.id = n.channel_id "                           \
    " WHERE n.id = $1::uuid AND n.unit_id IN (SELECT id FROM scope_units())"

/* The resource's read: the notification of operation->id in the scope. */
static bool read_notification(struct operation *operation, bool lock, enum db_outcome *outcome)
{
    struct resend *resend = operation->domain;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    PGresult *result = operation_query(
        operation,
        lock ? RESEND_STATE " FOR UPDATE OF n" : RESEND_STATE,
        &params, outcome);
    if (result == NULL)
        return false;
    operation->found = PQntuples(result) == 1;
    resend->sendable = operation->found && db_text(result, 0, 1) != NULL && db_bool(result, 0, 1);
    resend->in_flight = operation->found && db_bool(result, 0, 0);
    PQclear(result);
    return true;
}

static const struct resource notification_resource = {
    .name = "notification", .table = "notifications", .audit_type = "notifications",
    .read = read_notification};

static enum db_outcome resend_notification(struct operation *operation)
{
    struct resend *resend = operation->domain;
    enum db_outcome outcome = DB_COMMIT;
    if (!resend->sendable || resend->in_flight)
        return operation_refuse(operation, PROBLEM_CONFLICT, "conflict", "%s",
                                resend->in_flight
                                    ? "The notification is being sent, or waiting to be "
                                      "sent; resend it once that attempt has ended."
                                    : "Its channel is deleted or disabled; save the channel "
                                      "again to enable it.");
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_instant(&params, clock_now_us());
    PGresult *result = operation_query(
        operation,
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
    bool kept = operation_keep_document(operation, db_text(result, 0, 0));
    PQclear(result);
    /* Audited with the caller's unit, as the outbox's other entries. */
    operation->unit_id = operation->request->principal.unit_id;
    return kept ? DB_COMMIT : DB_FAILED;
}

/* Audited when it succeeds; its refusals are not. */
static const struct operation_steps resend_steps = {
    .action = "update", .reads_record = true, .write = resend_notification,
    .change = "update", .status = 200, .quiet_refusals = true};

void handle_notification_resend(struct request *request)
{
    struct resend resend = {0};
    struct operation operation = {.domain = &resend};
    if (operation_begin(&operation, request, &notification_resource, &resend_steps, false))
        operation_run(&operation);
}
