/* The child protection fund's books: donors (personal data) and pledges
 * with their instalments.  See fund.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fund/fund.h"
#include "http/handlers.h"

/* ---- donors ------------------------------------------------------------------------ */

static const char *const donor_kinds[] = {"individual", "organization", "business", NULL};

static const struct json_field donor_fields[] = {
    {.name = "unit", .kind = JSON_FIELD_STRING, .required = true, .min_length = 2,
     .max_length = 5},
    {.name = "kind", .kind = JSON_FIELD_ENUM, .required = true, .choices = donor_kinds},
    {.name = "name", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 200},
    {.name = "phone", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 20},
    {.name = "address", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 500},
    {.name = "anonymous_in_disclosure", .kind = JSON_FIELD_BOOLEAN},
};
#define DONOR_FIELD_COUNT (sizeof donor_fields / sizeof donor_fields[0])

static json_t *check_donor(json_t *body)
{
    json_t *errors = json_array();
    json_check_fields(body, donor_fields, DONOR_FIELD_COUNT, "", false, errors);
    return errors;
}

/* Writes the donor's fields (insert, or update of operation->id). */
static bool write_donor(struct operation *operation, bool create, long long unit_id,
                        enum db_outcome *outcome)
{
    const json_t *body = operation->body;
    const json_t *anonymous = json_object_get(body, "anonymous_in_disclosure");
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_integer(&params, unit_id);
    db_param_text(&params, json_member_string(body, "kind"));
    db_param_text(&params, json_member_string(body, "name"));
    db_param_text(&params, json_member_string(body, "phone"));
    db_param_text(&params, json_member_string(body, "address"));
    db_param_bool(&params, json_is_true(anonymous));
    db_param_instant(&params, clock_now_us());
    PGresult *result = operation_query(operation, create ? "INSERT INTO fund_donors (id, unit_id, kind, name, phone, address, "
                 "  anonymous_in_disclosure, created_at, updated_at) "
                 "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)"
               : "UPDATE fund_donors SET unit_id = $2, kind = $3, name = $4, phone = $5, "
                 "  address = $6, anonymous_in_disclosure = $7, updated_at = $8, "
                 "  version = version + 1 WHERE id = $1",
        &params, outcome);
    PQclear(result);
    return result != NULL;
}

static enum db_outcome insert_donor(struct operation *operation)
{
    enum db_outcome outcome = DB_COMMIT;
    long long unit_id = fund_resolve_unit(operation, json_member_string(operation->body, "unit"),
                                          &outcome);
    if (unit_id <= 0)
        return outcome;
    if (write_donor(operation, true, unit_id, &outcome))
        operation_written(operation, "create", &outcome);
    return outcome;
}

static json_t *check_new_donor(struct operation *operation)
{
    return check_donor(operation->body);
}

static const struct operation_steps donor_create_steps = {
    .action = "create", .creates = true, .reads_body = true, .check = check_new_donor,
    .invalid_detail = "The donor is invalid.", .write = insert_donor, .status = 201};

void handle_fund_donor_create(struct request *request)
{
    operation_handle(request, &fund_donors, &donor_create_steps);
}

void handle_fund_donors_list(struct request *request)
{
    fund_list(request, &fund_donors, &fund_donor_filters);
}

void handle_fund_donor_get(struct request *request)
{
    operation_handle(request, &fund_donors, &operation_read_steps);
}

static const char *const donor_read_only[] = {"id", "version", "created_at", "updated_at",
                                              NULL};

/* The donor's unit after the patch.  Only a patch that names `unit` has it
 * judged (valid today, in the scope: fund_resolve_unit); otherwise the
 * donor stays where it is, even in a unit a reorganisation has since ended,
 * whose books its successor's officers still keep. */
static long long patched_unit(struct operation *operation, const json_t *patch,
                              const json_t *donor, enum db_outcome *outcome)
{
    if (json_object_get(patch, "unit") == NULL)
        return operation->unit_id;
    return fund_resolve_unit(operation, json_member_string(donor, "unit"), outcome);
}

static enum db_outcome patch_donor(struct operation *operation)
{
    enum db_outcome outcome = DB_COMMIT;
    json_t *donor = json_loads(operation->document, 0, NULL);
    for (size_t i = 0; donor_read_only[i] != NULL; i++)
        json_object_del(donor, donor_read_only[i]);
    json_merge_patch(donor, operation->body);
    json_t *errors = check_donor(donor);
    if (json_array_size(errors) > 0) {
        outcome = operation_refuse_invalid(operation, errors, "The patched donor is invalid.");
    } else {
        json_decref(errors);
        json_t *patch = operation->body;
        long long unit_id = patched_unit(operation, patch, donor, &outcome);
        /* A donor moved to another unit's books leaves the scope of the
         * officers of the one it left: the feed entry names that unit, so
         * their feed gets a scope_exit (operation->unit_id is still the
         * unit it was read with). */
        operation->previous_unit_id =
            unit_id > 0 && unit_id != operation->unit_id ? operation->unit_id : 0;
        operation->body = donor;
        if (unit_id > 0 && write_donor(operation, false, unit_id, &outcome))
            operation_written(operation, "update", &outcome);
        operation->body = patch;
    }
    json_decref(donor);
    return outcome;
}

static const struct operation_steps donor_patch_steps = {
    .action = "update", .reads_record = true, .requires_if_match = true, .reads_body = true,
    .write = patch_donor, .status = 200};

void handle_fund_donor_patch(struct request *request)
{
    operation_handle(request, &fund_donors, &donor_patch_steps);
}

/* ---- pledges ----------------------------------------------------------------------- */

static const struct json_field pledge_fields[] = {
    {.name = "donor_id", .kind = JSON_FIELD_UUID, .required = true},
    {.name = "unit", .kind = JSON_FIELD_STRING, .required = true, .min_length = 2,
     .max_length = 5},
    {.name = "year", .kind = JSON_FIELD_INTEGER, .required = true, .minimum = FUND_FIRST_YEAR,
     .maximum = FUND_LAST_YEAR},
    {.name = "amount_vnd", .kind = JSON_FIELD_INTEGER, .required = true, .minimum = 1,
     .maximum = FUND_MAX_AMOUNT},
    {.name = "pledged_on", .kind = JSON_FIELD_DATE, .required = true},
    {.name = "instalments", .kind = JSON_FIELD_ARRAY, .nullable = true},
    {.name = "earmark", .kind = JSON_FIELD_OBJECT, .nullable = true},
    {.name = "note", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 4000},
};

static const struct json_field pledge_patch_fields[] = {
    {.name = "amount_vnd", .kind = JSON_FIELD_INTEGER, .minimum = 1, .maximum = FUND_MAX_AMOUNT},
    {.name = "instalments", .kind = JSON_FIELD_ARRAY},
    {.name = "note", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 4000},
};

static const struct json_field instalment_fields[] = {
    {.name = "due_on", .kind = JSON_FIELD_DATE, .required = true},
    {.name = "amount_vnd", .kind = JSON_FIELD_INTEGER, .required = true, .minimum = 1,
     .maximum = FUND_MAX_AMOUNT},
};

/* Checks a list of instalments; returns their total (each is at most 10^12
 * and there are at most FUND_MAX_INSTALMENTS: no overflow), or -1 when
 * something is wrong (errors added).  None may fall due before pledged_on. */
static long long check_instalments(const json_t *instalments, struct civil_date pledged_on,
                                   size_t minimum_count, json_t *errors)
{
    size_t count = json_array_size(instalments);
    if (count < minimum_count || count > FUND_MAX_INSTALMENTS) {
        problem_add_field_error(errors, "/instalments", "must list %zu to %d instalments",
                                minimum_count, FUND_MAX_INSTALMENTS);
        return -1;
    }
    long long total = 0;
    bool valid = true;
    size_t index;
    const json_t *instalment;
    json_array_foreach(instalments, index, instalment) {
        char pointer[40];
        snprintf(pointer, sizeof pointer, "/instalments/%zu", index);
        if (!json_is_object(instalment)) {
            problem_add_field_error(errors, pointer, "must be an object");
            valid = false;
            continue;
        }
        if (!json_check_fields(instalment, instalment_fields, 2, pointer, false, errors)) {
            valid = false;
            continue;
        }
        struct civil_date due;
        date_parse(json_member_string(instalment, "due_on"), &due);
        if (civil_compare(due, pledged_on) < 0) {
            char due_pointer[56];
            snprintf(due_pointer, sizeof due_pointer, "%s/due_on", pointer);
            problem_add_field_error(errors, due_pointer, "must not be before pledged_on");
            valid = false;
        }
        total += json_integer_value(json_object_get(instalment, "amount_vnd"));
    }
    return valid ? total : -1;
}

/* Checks a new pledge; without instalments, the whole amount falls due at
 * the end of the plan year (or on the day pledged, if that is later). */
static json_t *check_pledge(struct operation *operation)
{
    json_t *body = operation->body;
    json_t *errors = json_array();
    if (!json_check_fields(body, pledge_fields, sizeof pledge_fields / sizeof pledge_fields[0],
                           "", false, errors))
        return errors;
    fund_check_not_future(body, "pledged_on", errors);
    fund_check_earmark(json_object_get(body, "earmark"), "/earmark", errors);
    struct civil_date pledged_on;
    date_parse(json_member_string(body, "pledged_on"), &pledged_on);
    long long amount = json_integer_value(json_object_get(body, "amount_vnd"));
    json_t *instalments = json_object_get(body, "instalments");
    if (instalments == NULL || json_is_null(instalments)) {
        struct civil_date due = {(int)json_integer_value(json_object_get(body, "year")), 12, 31};
        if (civil_compare(due, pledged_on) < 0)
            due = pledged_on;
        char due_text[CLOCK_DATE_SIZE];
        date_format(due, due_text);
        json_object_set_new(body, "instalments",
                            json_pack("[{s:s, s:I}]", "due_on", due_text, "amount_vnd",
                                      (json_int_t)amount));
        return errors;
    }
    long long total = check_instalments(instalments, pledged_on, 1, errors);
    if (total >= 0 && total != amount)
        problem_add_field_error(errors, "/instalments",
                                "must add up to amount_vnd (%lld), not %lld", amount, total);
    return errors;
}

static bool insert_instalments(struct operation *operation, const json_t *instalments,
                               enum db_outcome *outcome)
{
    char *list = json_dumps(instalments, JSON_COMPACT);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_text(&params, list);
    PGresult *result = operation_query(operation, "INSERT INTO fund_instalments (pledge_id, due_on, amount_vnd) "
        "SELECT $1, (e->>'due_on')::date, (e->>'amount_vnd')::bigint "
        "  FROM json_array_elements($2::json) WITH ORDINALITY AS l (e, position) "
        " ORDER BY l.position",
        &params, outcome);
    free(list);
    PQclear(result);
    return result != NULL;
}

/* 404 unless the pledge's donor (and the earmarked child) are visible; 422
 * when the earmarked child is not one of the unit's books. */
static bool check_references(struct operation *operation, long long unit_id,
                             const char *donor_id, const json_t *earmark,
                             enum db_outcome *outcome)
{
    return fund_require_visible(operation, "fund_donors", donor_id, "donor", outcome) &&
           fund_require_child_of(operation, unit_id, json_member_string(earmark, "child_id"),
                                 "/earmark/child_id", outcome);
}

static enum db_outcome insert_pledge(struct operation *operation)
{
    enum db_outcome outcome = DB_COMMIT;
    const json_t *body = operation->body;
    const json_t *earmark = json_object_get(body, "earmark");
    long long unit_id = fund_resolve_unit(operation, json_member_string(body, "unit"), &outcome);
    if (unit_id <= 0 ||
        !check_references(operation, unit_id, json_member_string(body, "donor_id"), earmark,
                          &outcome))
        return outcome;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_text(&params, json_member_string(body, "donor_id"));
    db_param_integer(&params, unit_id);
    db_param_integer(&params, json_integer_value(json_object_get(body, "year")));
    db_param_integer(&params, json_integer_value(json_object_get(body, "amount_vnd")));
    db_param_text(&params, json_member_string(body, "pledged_on"));
    db_param_text(&params, json_member_string(earmark, "child_id"));
    db_param_text(&params, json_member_string(earmark, "purpose"));
    db_param_text(&params, json_member_string(body, "note"));
    db_param_instant(&params, clock_now_us());
    PGresult *result = operation_query(operation, "INSERT INTO fund_pledges (id, donor_id, unit_id, year, amount_vnd, pledged_on, "
        "  earmark_child_id, earmark_purpose, note, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        &params, &outcome);
    PQclear(result);
    if (result != NULL &&
        insert_instalments(operation, json_object_get(body, "instalments"), &outcome))
        operation_written(operation, "create", &outcome);
    return outcome;
}

static const struct operation_steps pledge_create_steps = {
    .action = "create", .creates = true, .reads_body = true, .check = check_pledge,
    .invalid_detail = "The pledge is invalid.", .write = insert_pledge, .status = 201};

void handle_fund_pledge_create(struct request *request)
{
    operation_handle(request, &fund_pledges, &pledge_create_steps);
}

void handle_fund_pledges_list(struct request *request)
{
    fund_list(request, &fund_pledges, &fund_pledge_filters);
}

void handle_fund_pledge_get(struct request *request)
{
    operation_handle(request, &fund_pledges, &operation_read_steps);
}

/* What an edit must respect: the instalments already (partly) paid stay as
 * they are; only the unpaid ones are replaced. */
struct pledge_state {
    bool cancelled;
    long long amount;
    long long kept;          /* total of the instalments with something paid */
    struct civil_date pledged_on;
};

static bool read_pledge_state(struct operation *operation, struct pledge_state *state,
                              enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    PGresult *result = operation_query(operation, "SELECT p.cancelled_on IS NOT NULL, p.amount_vnd, "
        "       (SELECT coalesce(sum(i.amount_vnd), 0) FROM fund_instalments i "
        "         WHERE i.pledge_id = p.id AND i.paid_vnd > 0), p.pledged_on::text "
        "  FROM fund_pledges p WHERE p.id = $1::uuid",
        &params, outcome);
    if (result == NULL)
        return false;
    state->cancelled = db_bool(result, 0, 0);
    state->amount = db_integer(result, 0, 1);
    state->kept = db_integer(result, 0, 2);
    date_parse(db_text(result, 0, 3), &state->pledged_on);
    PQclear(result);
    return true;
}

static bool replace_open_instalments(struct operation *operation,
                                     const json_t *instalments, enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    PGresult *result = operation_query(operation, "DELETE FROM fund_instalments "
                                      " WHERE pledge_id = $1::uuid AND paid_vnd = 0",
                                      &params, outcome);
    PQclear(result);
    return result != NULL && insert_instalments(operation, instalments, outcome);
}

static enum db_outcome patch_pledge(struct operation *operation)
{
    const json_t *patch = operation->body;
    enum db_outcome outcome = DB_COMMIT;
    struct pledge_state state;
    if (!read_pledge_state(operation, &state, &outcome))
        return outcome;
    if (state.cancelled)
        return operation_refuse(operation, PROBLEM_CONFLICT, "conflict",
                           "The pledge is cancelled; it cannot be changed.");
    const json_t *amount_member = json_object_get(patch, "amount_vnd");
    const json_t *instalments = json_object_get(patch, "instalments");
    long long amount = amount_member ? json_integer_value(amount_member) : state.amount;
    json_t *errors = json_array();
    if (instalments != NULL) {
        long long total = check_instalments(instalments, state.pledged_on, 0, errors);
        if (total >= 0 && total + state.kept != amount)
            problem_add_field_error(errors, "/instalments",
                                    "with the %lld đồng of instalments already (partly) paid, "
                                    "must add up to amount_vnd (%lld), not %lld",
                                    state.kept, amount, total + state.kept);
    } else if (amount != state.amount) {
        problem_add_field_error(errors, "/instalments",
                                "must be given when amount_vnd changes: the unpaid "
                                "instalments that make up the new amount");
    }
    if (json_array_size(errors) > 0)
        return operation_refuse_invalid(operation, errors, "The change to the pledge is invalid.");
    json_decref(errors);
    if (instalments != NULL && !replace_open_instalments(operation, instalments, &outcome))
        return outcome;
    const json_t *note = json_object_get(patch, "note");
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_integer(&params, amount);
    db_param_bool(&params, note != NULL);
    db_param_text(&params, json_string_value(note));
    db_param_instant(&params, clock_now_us());
    PGresult *result = operation_query(operation, "UPDATE fund_pledges SET amount_vnd = $2, note = CASE WHEN $3 THEN $4 ELSE note END, "
        "  version = version + 1, updated_at = $5 WHERE id = $1::uuid",
        &params, &outcome);
    PQclear(result);
    if (result != NULL)
        operation_written(operation, "update", &outcome);
    return outcome;
}

static json_t *check_pledge_patch(struct operation *operation)
{
    json_t *body = operation->body;
    json_t *errors = json_array();
    json_check_fields(body, pledge_patch_fields,
                      sizeof pledge_patch_fields / sizeof pledge_patch_fields[0], "", false,
                      errors);
    return errors;
}

static const struct operation_steps pledge_patch_steps = {
    .action = "update", .reads_record = true, .requires_if_match = true, .reads_body = true,
    .check = check_pledge_patch, .invalid_detail = "The change to the pledge is invalid.",
    .write = patch_pledge, .status = 200};

void handle_fund_pledge_patch(struct request *request)
{
    operation_handle(request, &fund_pledges, &pledge_patch_steps);
}

static const struct json_field cancel_fields[] = {
    {.name = "reason", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 1000},
};

/* Cancelling keeps every instalment and payment: what was paid stays raised. */
static enum db_outcome cancel_pledge(struct operation *operation)
{
    enum db_outcome outcome = DB_COMMIT;
    struct pledge_state state;
    /* If-Match is optional here: cancelling is the same whatever was edited. */
    if ((operation->if_match != 0 && !operation_precondition(operation, &outcome)) ||
        !read_pledge_state(operation, &state, &outcome))
        return outcome;
    if (state.cancelled)
        return operation_refuse(operation, PROBLEM_CONFLICT, "conflict",
                           "The pledge is already cancelled.");
    char today[CLOCK_DATE_SIZE];
    operation_today(today);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_text(&params, today);
    db_param_text(&params, json_member_string(operation->body, "reason"));
    db_param_instant(&params, clock_now_us());
    PGresult *result = operation_query(operation, "UPDATE fund_pledges SET cancelled_on = $2, cancel_reason = $3, "
        "  version = version + 1, updated_at = $4 WHERE id = $1::uuid",
        &params, &outcome);
    PQclear(result);
    if (result != NULL)
        operation_written(operation, "update", &outcome);
    return outcome;
}

static json_t *check_cancel(struct operation *operation)
{
    json_t *body = operation->body;
    json_t *errors = json_array();
    json_check_fields(body, cancel_fields, 1, "", false, errors);
    return errors;
}

static const struct operation_steps pledge_cancel_steps = {
    .action = "update", .reads_record = true, .reads_body = true, .check = check_cancel,
    .invalid_detail = "The cancellation is invalid.", .write = cancel_pledge, .status = 200};

void handle_fund_pledge_cancel(struct request *request)
{
    operation_handle(request, &fund_pledges, &pledge_cancel_steps);
}
