/* POST /v1/batch: what a phone collected offline, uploaded in one request.
 *
 * A batch is a list of writes to the registry — a child created or replaced
 * under the UUID the phone chose (PUT), patched with If-Match (PATCH),
 * deleted, a record added with its own Idempotency-Key (POST …/supports)
 * or patched — each answered on its own, in the same order, with the
 * status, ETag, Location and body (the document, or the problem) that its
 * single request would have had.
 *
 * Each item IS its single request: it is routed through the same route
 * table, its permission checked by dispatch_authenticated(), and run by the
 * same handler, hence by the same lifecycle (api/operation/lifecycle.h),
 * resources and steps (children.c, child_records.c), with the same audit
 * entries and feed entries.  Only its transport differs: the item is a
 * `struct request` without a connection, whose headers (If-Match,
 * Idempotency-Key) come from the item and whose reply is collected here.
 *
 * Each item runs in its own transaction, one after the other, on the
 * batch's database connection.  Not one transaction with savepoints,
 * because:
 *   - an item's refusal (412, 422) must not undo the others, and a
 *     serialization failure or deadlock aborts the whole transaction, not a
 *     savepoint: the lifecycle's retry of one item would replay them all;
 *   - 500 items' row locks would be held until the last one, blocking the
 *     commune's office for the whole upload;
 *   - the change feed delivers a transaction only once every older one has
 *     ended: one long transaction would hold every reader of the feed back
 *     for its whole length;
 *   - a lost connection at COMMIT would leave all of it unknown instead of
 *     one item (the others already answered).
 * A retried batch doubles nothing: a PUT of a child the first attempt
 * created, a PATCH, a record's POST each carry an Idempotency-Key and are
 * replayed from the stored answer (Idempotency-Replayed); without keys the
 * retry is refused by If-Match (428/412) rather than written twice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


#include "http/dispatch.h"
#include "http/handlers.h"
#include "http/pool.h"
#include "http/replica.h"
#include "http/request_body.h"
#include "http/server.h"
#include "json.h"

/* Stated in openapi.yaml (BatchRequest); the body's bytes are bounded by
 * BAOVE_MAX_BODY (1 MiB by default), as for every request. */
#define BATCH_MAX_ITEMS 500
#define ITEM_HEADERS 3

static const char *const item_methods[] = {"PUT", "PATCH", "POST", "DELETE", NULL};

/* An item, as checked before any of them runs. */
struct batch_item {
    const char *method;
    const char *path;
    const char *if_match;
    const char *idempotency_key;
    const json_t *body;
    struct route_match match;
};

/* Whether the route may be an item: a write of the registry, under
 * /v1/children/{id}. */
static bool route_in_batches(const struct route *route)
{
    return strncmp(route->pattern, "/v1/children/{id}", 17) == 0 &&
           strcmp(route->method, "GET") != 0;
}

/* Checks item `index`'s shape and route; adds errors under /items/<index>. */
static void check_item(const json_t *object, size_t index, struct batch_item *item,
                       json_t *errors)
{
    static const struct json_field fields[] = {
        {.name = "method", .kind = JSON_FIELD_ENUM, .required = true, .choices = item_methods},
        {.name = "path", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
         .max_length = 300},
        {.name = "if_match", .kind = JSON_FIELD_STRING, .max_length = 24},
        {.name = "idempotency_key", .kind = JSON_FIELD_STRING, .min_length = 1,
         .max_length = 200},
        {.name = "body", .kind = JSON_FIELD_OBJECT},
    };
    char pointer[32];
    snprintf(pointer, sizeof pointer, "/items/%zu", index);
    if (!json_is_object(object)) {
        problem_add_field_error(errors, pointer, "must be an object");
        return;
    }
    if (!json_check_fields(object, fields, sizeof fields / sizeof fields[0], pointer, false,
                           errors))
        return;
    item->method = json_member_string(object, "method");
    item->path = json_member_string(object, "path");
    item->if_match = json_member_string(object, "if_match");
    item->idempotency_key = json_member_string(object, "idempotency_key");
    item->body = json_object_get(object, "body");
    if (route_find(api_routes, api_route_count, item->method, item->path, &item->match) !=
            ROUTE_FOUND ||
        !route_in_batches(item->match.route)) {
        snprintf(pointer, sizeof pointer, "/items/%zu/path", index);
        problem_add_field_error(errors, pointer,
                                "must be a write under /v1/children/{id} (see the batch's "
                                "operations in the API description)");
    }
}

/* Appends to the answer: {"status":…,"etag":…,"location":…,"replayed":…,
 * "body":<the item's reply, as it is>}. */
static bool append_answer(json_t *answers, struct request *item)
{
    json_t *answer = json_pack("{s:i}", "status", (int)item->status);
    for (int i = 0; answer != NULL && i < item->header_count; i++) {
        const struct reply_header *header = &item->headers[i];
        if (strcasecmp(header->name, MHD_HTTP_HEADER_ETAG) == 0)
            json_object_set_new(answer, "etag", json_string(header->value));
        else if (strcasecmp(header->name, MHD_HTTP_HEADER_LOCATION) == 0)
            json_object_set_new(answer, "location", json_string(header->value));
        else if (strcasecmp(header->name, "Idempotency-Replayed") == 0)
            json_object_set_new(answer, "replayed", json_true());
    }
    /* The item's body is the JSON text its handler wrote; it is kept as a
     * value so that the answer is one document. */
    if (answer != NULL && item->reply_body != NULL && item->reply_length > 0)
        json_object_set_new(answer, "body",
                            json_loadb(item->reply_body, item->reply_length, 0, NULL));
    return answer != NULL && json_array_append_new(answers, answer) == 0;
}

/* Runs one item as its own request on the batch's connection and appends
 * its answer. */
static bool run_item(struct request *batch, const struct batch_item *item, json_t *answers)
{
    const char *headers[2 * ITEM_HEADERS + 1] = {"Content-Type", "application/json"};
    size_t count = 2;
    if (item->if_match != NULL) {
        headers[count++] = "If-Match";
        headers[count++] = item->if_match;
    }
    if (item->idempotency_key != NULL) {
        headers[count++] = "Idempotency-Key";
        headers[count++] = item->idempotency_key;
    }
    struct request *request = calloc(1, sizeof *request);
    if (request == NULL)
        return false;
    request->item_headers = headers;
    request->stage = REQUEST_RUNNING;
    request->started_us = batch->started_us;
    /* The batch's request id: the items' audit entries and problems name
     * the request that carried them. */
    memcpy(request->id, batch->id, sizeof request->id);
    snprintf(request->method, sizeof request->method, "%s", item->method);
    request->path = strdup(item->path);
    request->routing = ROUTE_FOUND;
    request->match = item->match;
    /* The item's own bytes: what its Idempotency-Key remembers. */
    if (item->body != NULL) {
        request->body = json_dumps(item->body, JSON_COMPACT | JSON_PRESERVE_ORDER);
        request->body_length = request->body != NULL ? strlen(request->body) : 0;
    }
    request->authenticated = batch->authenticated;
    request->principal = batch->principal;
    request->principal_unverified = batch->principal_unverified; /* false: looked up */
    request->database = batch->database;
    bool ok = request->path != NULL && (item->body == NULL || request->body != NULL);
    if (ok) {
        dispatch_authenticated(request);
        /* The token was revoked, or its account changed, while the batch
         * ran: this item is judged as its own request would be now (401, or
         * 403 for a role that lost the permission, or done in the account's
         * new scope), and the items after it run as the account now is. */
        dispatch_again_if_refused(request);
        if (request->authenticated)
            batch->principal = request->principal;
        if (!request->replied)
            reply_problem(request, PROBLEM_INTERNAL, "The item produced no answer.");
        ok = append_answer(answers, request);
    }
    /* The connection stays the batch's (the item may have dropped a lost
     * one, or taken a new one). */
    batch->database = request->database;
    free(request->path);
    free(request->body);
    free(request->reply_body);
    free(request);
    return ok;
}

void handle_batch(struct request *request)
{
    json_t *body = request_json_body(request);
    if (body == NULL)
        return; /* answered 400/415 */
    json_t *errors = json_array();
    const json_t *items = json_object_get(body, "items");
    size_t count = json_array_size(items);
    if (!json_is_array(items) || count == 0 || count > BATCH_MAX_ITEMS)
        problem_add_field_error(errors, "/items", "must be an array of 1 to %d items",
                                BATCH_MAX_ITEMS);
    struct batch_item *checked = calloc(count + 1, sizeof *checked);
    for (size_t i = 0; checked != NULL && json_array_size(errors) == 0 && i < count; i++)
        check_item(json_array_get(items, i), i, &checked[i], errors);
    json_t *answers = json_array();
    if (checked == NULL || answers == NULL) {
        reply_problem(request, PROBLEM_INTERNAL, "Out of memory.");
    } else if (json_array_size(errors) > 0) {
        reply_problem_errors(request, PROBLEM_VALIDATION, "The batch is invalid; nothing "
                             "in it was done.", errors);
        errors = NULL;
    } else {
        /* Nothing is done when no connection can be had (answered 503). */
        bool ok = request_database(request) != NULL;
        for (size_t i = 0; ok && i < count; i++)
            ok = run_item(request, &checked[i], answers);
        char position[REPLICA_POSITION_SIZE];
        /* Read your writes after a batch too: one position for all its items. */
        if (ok && pool_replica != NULL && request->database != NULL &&
            replica_commit_position(request->database, position))
            reply_add_header(request, REPLICA_CONSISTENT_AFTER, position);
        if (ok)
            reply_json(request, 200, json_pack("{s:O}", "items", answers));
        else if (!request->replied)
            reply_problem(request, PROBLEM_INTERNAL, "The batch could not be completed.");
    }
    json_decref(answers);
    json_decref(errors);
    free(checked);
    json_decref(body);
}
