/* Money in and out of the fund's books: payments received (against a
 * pledge, or plain donations) and disbursements.  See fund.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fund/fund.h"
#include "http/handlers.h"
#include "log.h"

/* ---- payments ---------------------------------------------------------------------- */

static const char *const payment_methods[] = {"cash", "bank_transfer", "in_kind", NULL};

static const struct json_field payment_fields[] = {
    {.name = "pledge_id", .kind = JSON_FIELD_UUID, .nullable = true},
    {.name = "donor_id", .kind = JSON_FIELD_UUID, .nullable = true},
    {.name = "unit", .kind = JSON_FIELD_STRING, .required = true, .min_length = 2,
     .max_length = 5},
    {.name = "amount_vnd", .kind = JSON_FIELD_INTEGER, .required = true, .minimum = 1,
     .maximum = FUND_MAX_AMOUNT},
    {.name = "received_on", .kind = JSON_FIELD_DATE, .required = true},
    {.name = "method", .kind = JSON_FIELD_ENUM, .required = true, .choices = payment_methods},
    {.name = "in_kind_description", .kind = JSON_FIELD_STRING, .nullable = true,
     .min_length = 1, .max_length = 1000},
    {.name = "receipt_no", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 50},
    {.name = "earmark", .kind = JSON_FIELD_OBJECT, .nullable = true},
    {.name = "note", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 4000},
};

static json_t *check_payment(struct operation *operation)
{
    json_t *body = operation->body;
    json_t *errors = json_array();
    if (!json_check_fields(body, payment_fields,
                           sizeof payment_fields / sizeof payment_fields[0], "", false, errors))
        return errors;
    fund_check_entry_date(body, "received_on", errors);
    bool in_kind = strcmp(json_member_string(body, "method"), "in_kind") == 0;
    bool described = json_member_string(body, "in_kind_description") != NULL;
    if (in_kind && !described)
        problem_add_field_error(errors, "/in_kind_description",
                                "is required for a gift in kind (with its value as amount_vnd)");
    if (!in_kind && described)
        problem_add_field_error(errors, "/in_kind_description",
                                "is only for method in_kind");
    const json_t *earmark = json_object_get(body, "earmark");
    if (json_is_object(earmark) && json_member_string(body, "pledge_id") != NULL)
        problem_add_field_error(errors, "/earmark",
                                "must be absent with pledge_id: the pledge's earmark applies");
    fund_check_earmark(earmark, "/earmark", errors);
    return errors;
}

struct pledge_terms {
    long long unit_id;
    char donor_id[AUTH_UUID_SIZE];
    bool cancelled;
    char *earmark_child_id; /* owned, NULL when none */
    char *earmark_purpose;  /* owned, NULL when none */
};

/* Locks the pledge (concurrent payments against it apply one after the
 * other) and reads what a payment must agree with. */
static bool lock_pledge(struct operation *operation, const char *pledge_id,
                        struct pledge_terms *terms, bool *found, enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, pledge_id);
    PGresult *result = operation_query(operation, "SELECT unit_id, donor_id, cancelled_on IS NOT NULL, earmark_child_id, earmark_purpose "
        "  FROM fund_pledges WHERE id = $1::uuid FOR UPDATE",
        &params, outcome);
    if (result == NULL)
        return false;
    *found = PQntuples(result) == 1;
    if (*found) {
        terms->unit_id = db_integer(result, 0, 0);
        snprintf(terms->donor_id, sizeof terms->donor_id, "%s", db_text(result, 0, 1));
        terms->cancelled = db_bool(result, 0, 2);
        const char *child = db_text(result, 0, 3), *purpose = db_text(result, 0, 4);
        terms->earmark_child_id = child ? strdup(child) : NULL;
        terms->earmark_purpose = purpose ? strdup(purpose) : NULL;
    }
    PQclear(result);
    return true;
}

/* Applies the payment just inserted to its pledge's open instalments,
 * oldest due first, storing what it applied and what it overpaid
 * (fund_apply_payment in 0012: the same allocation a void re-runs). */
static bool apply_to_instalments(struct operation *operation, enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    PGresult *result = operation_query(operation, "SELECT fund_apply_payment($1::uuid)", &params, outcome);
    PQclear(result);
    return result != NULL;
}

/* Inserts the payment; a receipt number already used by the unit in that
 * year is a 409 (the statement's unique violation, not a failure). */
static bool insert_payment_row(struct operation *operation, long long unit_id,
                               const char *donor_id, long long applied, long long overpaid,
                               const char *child_id, const char *purpose,
                               enum db_outcome *outcome)
{
    const json_t *body = operation->body;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_integer(&params, unit_id);
    db_param_integer(&params, fund_year_of(body, "received_on"));
    db_param_text(&params, json_member_string(body, "pledge_id"));
    db_param_text(&params, donor_id);
    db_param_integer(&params, json_integer_value(json_object_get(body, "amount_vnd")));
    db_param_integer(&params, applied);
    db_param_integer(&params, overpaid);
    db_param_text(&params, json_member_string(body, "received_on"));
    db_param_text(&params, json_member_string(body, "method"));
    db_param_text(&params, json_member_string(body, "in_kind_description"));
    db_param_text(&params, json_member_string(body, "receipt_no"));
    db_param_text(&params, child_id);
    db_param_text(&params, purpose);
    db_param_text(&params, json_member_string(body, "note"));
    db_param_instant(&params, clock_now_us());
    PGresult *result = db_query(
        operation->connection,
        "INSERT INTO fund_payments (id, unit_id, year, pledge_id, donor_id, amount_vnd, "
        "  applied_vnd, overpaid_vnd, received_on, method, in_kind_description, receipt_no, "
        "  earmark_child_id, earmark_purpose, note, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        &params);
    if (db_ok(result)) {
        PQclear(result);
        return true;
    }
    const char *constraint = result ? PQresultErrorField(result, PG_DIAG_CONSTRAINT_NAME) : NULL;
    if (strcmp(db_sqlstate(result), "23505") == 0 && constraint != NULL &&
        strcmp(constraint, "fund_payments_receipt_unique") == 0) {
        char detail[200];
        snprintf(detail, sizeof detail,
                 "Receipt number %s is already used by this unit in %d; every receipt of a "
                 "unit and year needs its own number.",
                 json_member_string(body, "receipt_no"), fund_year_of(body, "received_on"));
        *outcome = operation_refuse(operation, PROBLEM_CONFLICT, "conflict", "%s", detail);
    } else {
        *outcome = operation_failed(operation, "fund payment", result);
    }
    PQclear(result);
    return false;
}

/* A payment against a pledge: the pledge must be visible, open, of the same
 * unit (and donor, when one is named). */
static enum db_outcome pay_pledge(struct operation *operation, long long unit_id,
                                  const char *pledge_id, enum db_outcome outcome)
{
    const json_t *body = operation->body;
    struct pledge_terms terms = {0};
    bool found = false;
    if (!lock_pledge(operation, pledge_id, &terms, &found, &outcome))
        return outcome;
    const char *donor_id = json_member_string(body, "donor_id");
    json_t *errors = json_array();
    if (found && terms.unit_id != unit_id)
        problem_add_field_error(errors, "/unit", "must be the unit of the pledge");
    if (found && donor_id != NULL && strcmp(donor_id, terms.donor_id) != 0)
        problem_add_field_error(errors, "/donor_id", "must be the donor of the pledge");
    if (!found) {
        outcome = operation_refuse(operation, PROBLEM_NOT_FOUND, "not_found", "No such pledge.");
    } else if (terms.cancelled) {
        outcome = operation_refuse(operation, PROBLEM_CONFLICT, "conflict",
                              "The pledge is cancelled; record the money as a donation "
                              "without pledge_id.");
    } else if (json_array_size(errors) > 0) {
        outcome = operation_refuse_invalid(operation, errors, "The payment does not fit its pledge.");
        errors = NULL;
    } else {
        /* Stored as all overpaid first, then applied (the row must exist
         * for fund_apply_payment). */
        long long amount = json_integer_value(json_object_get(body, "amount_vnd"));
        if (insert_payment_row(operation, unit_id, terms.donor_id, 0, amount,
                               terms.earmark_child_id, terms.earmark_purpose, &outcome))
            apply_to_instalments(operation, &outcome);
    }
    json_decref(errors);
    free(terms.earmark_child_id);
    free(terms.earmark_purpose);
    return outcome;
}

static enum db_outcome insert_payment(struct operation *operation)
{
    enum db_outcome outcome = DB_COMMIT;
    const json_t *body = operation->body;
    long long unit_id = fund_resolve_unit(operation, json_member_string(body, "unit"), &outcome);
    if (unit_id <= 0)
        return outcome;
    const char *pledge_id = json_member_string(body, "pledge_id");
    const char *donor_id = json_member_string(body, "donor_id");
    const json_t *earmark = json_object_get(body, "earmark");
    if (pledge_id != NULL) {
        outcome = pay_pledge(operation, unit_id, pledge_id, outcome);
    } else {
        const char *child_id = json_member_string(earmark, "child_id");
        if (!fund_require_visible(operation, "fund_donors", donor_id, "donor", &outcome) ||
            !fund_require_child_of(operation, unit_id, child_id, "/earmark/child_id",
                                   &outcome))
            return outcome;
        insert_payment_row(operation, unit_id, donor_id, 0, 0, child_id,
                           json_member_string(earmark, "purpose"), &outcome);
    }
    if (outcome == DB_COMMIT)
        operation_written(operation, "create", &outcome);
    return outcome;
}

static const struct operation_steps payment_create_steps = {
    .action = "create", .creates = true, .reads_body = true, .check = check_payment,
    .invalid_detail = "The payment is invalid.", .write = insert_payment, .status = 201};

void handle_fund_payment_create(struct request *request)
{
    /* Money must never be recorded twice because a reply was lost. */
    if (request_header(request, "Idempotency-Key") == NULL) {
        json_t *errors = json_array();
        problem_add_parameter_error(errors, "Idempotency-Key",
                                    "is required: a payment is recorded once per key");
        reply_problem_errors(request, PROBLEM_INVALID_PARAMETER,
                             "A payment needs an Idempotency-Key header.", errors);
        return;
    }
    operation_handle(request, &fund_payments, &payment_create_steps);
}

void handle_fund_payments_list(struct request *request)
{
    fund_list(request, &fund_payments, &fund_payment_filters);
}

void handle_fund_payment_get(struct request *request)
{
    operation_handle(request, &fund_payments, &operation_read_steps);
}

/* ---- disbursements ---------------------------------------------------------------- */

static const struct json_field disbursement_fields[] = {
    {.name = "unit", .kind = JSON_FIELD_STRING, .required = true, .min_length = 2,
     .max_length = 5},
    {.name = "amount_vnd", .kind = JSON_FIELD_INTEGER, .required = true, .minimum = 1,
     .maximum = FUND_MAX_AMOUNT},
    {.name = "disbursed_on", .kind = JSON_FIELD_DATE, .required = true},
    {.name = "decision_no", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 100},
    {.name = "purpose", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 200},
    {.name = "child_id", .kind = JSON_FIELD_UUID, .nullable = true},
    {.name = "earmarked", .kind = JSON_FIELD_BOOLEAN},
    {.name = "in_kind", .kind = JSON_FIELD_BOOLEAN},
    {.name = "note", .kind = JSON_FIELD_STRING, .nullable = true, .max_length = 4000},
};

static json_t *check_disbursement(struct operation *operation)
{
    json_t *body = operation->body;
    json_t *errors = json_array();
    if (json_check_fields(body, disbursement_fields,
                          sizeof disbursement_fields / sizeof disbursement_fields[0], "", false,
                          errors))
        fund_check_entry_date(body, "disbursed_on", errors);
    return errors;
}

/* What one pool of a unit's books holds (fund_pool_balance: the general
 * pool when child and purpose are both NULL), with the unit's books locked
 * against other disbursements and voids until this transaction ends (so
 * two at once cannot both spend, or take back, the same money). */
static bool locked_pool_balance(struct operation *operation, long long unit_id,
                                const char *child_id, const char *purpose, bool in_kind,
                                long long *balance, enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_integer(&params, unit_id);
    db_param_text(&params, child_id);
    db_param_text(&params, purpose);
    db_param_bool(&params, in_kind);
    struct db_params lock_params;
    db_params_init(&lock_params);
    db_param_integer(&lock_params, unit_id);
    PGresult *result = operation_query(operation, "SELECT pg_advisory_xact_lock(hashtextextended('fund_books:' || $1::text, 0))",
        &lock_params, outcome);
    if (result == NULL)
        return false;
    PQclear(result);
    /* A statement after the lock sees what a disbursement that held it
     * committed (read committed takes a new snapshot per statement). */
    result = operation_query(operation, "SELECT fund_pool_balance($1::bigint, $2::uuid, $3::text, "
                            "$4::boolean)",
                            &params, outcome);
    if (result == NULL)
        return false;
    *balance = db_integer(result, 0, 0);
    PQclear(result);
    return true;
}

/* The balance of the pool the disbursement draws on, locked. */
static bool pool_balance(struct operation *operation, long long unit_id,
                         long long *balance, enum db_outcome *outcome)
{
    const json_t *body = operation->body;
    bool earmarked = json_is_true(json_object_get(body, "earmarked"));
    const char *child_id = json_member_string(body, "child_id");
    return locked_pool_balance(
        operation, unit_id, earmarked ? child_id : NULL,
        earmarked && child_id == NULL ? json_member_string(body, "purpose") : NULL,
        json_is_true(json_object_get(body, "in_kind")), balance, outcome);
}

static enum db_outcome refuse_overdraft(struct operation *operation, long long balance,
                                        long long amount)
{
    const json_t *body = operation->body;
    bool earmarked = json_is_true(json_object_get(body, "earmarked"));
    const char *pool = !earmarked ? "general balance"
                       : json_member_string(body, "child_id") != NULL
                           ? "balance earmarked for this child"
                           : "balance earmarked for this purpose";
    const char *form = json_is_true(json_object_get(body, "in_kind")) ? "goods" : "money";
    char detail[256];
    snprintf(detail, sizeof detail,
             "The unit's available %s in %s is %lld đồng; %lld đồng cannot be disbursed from "
             "it.",
             pool, form, balance, amount);
    return operation_refuse_with(operation, PROBLEM_CONFLICT, "conflict",
                                 json_pack("{s:I}", "available_vnd", (json_int_t)balance),
                                 detail);
}

static enum db_outcome insert_disbursement(struct operation *operation)
{
    enum db_outcome outcome = DB_COMMIT;
    const json_t *body = operation->body;
    long long unit_id = fund_resolve_unit(operation, json_member_string(body, "unit"), &outcome);
    if (unit_id <= 0)
        return outcome;
    const char *child_id = json_member_string(body, "child_id");
    if (!fund_require_child_of(operation, unit_id, child_id, "/child_id", &outcome))
        return outcome;
    long long balance = 0;
    long long amount = json_integer_value(json_object_get(body, "amount_vnd"));
    if (!pool_balance(operation, unit_id, &balance, &outcome))
        return outcome;
    if (amount > balance)
        return refuse_overdraft(operation, balance, amount);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_integer(&params, unit_id);
    db_param_integer(&params, fund_year_of(body, "disbursed_on"));
    db_param_integer(&params, amount);
    db_param_text(&params, json_member_string(body, "disbursed_on"));
    db_param_text(&params, json_member_string(body, "decision_no"));
    db_param_text(&params, json_member_string(body, "purpose"));
    db_param_text(&params, child_id);
    db_param_bool(&params, json_is_true(json_object_get(body, "earmarked")));
    db_param_text(&params, json_member_string(body, "note"));
    db_param_instant(&params, clock_now_us());
    db_param_bool(&params, json_is_true(json_object_get(body, "in_kind")));
    PGresult *result = operation_query(operation, "INSERT INTO fund_disbursements (id, unit_id, year, amount_vnd, disbursed_on, "
        "  decision_no, purpose, child_id, earmarked, note, created_at, in_kind) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &params, &outcome);
    PQclear(result);
    if (result != NULL)
        operation_written(operation, "create", &outcome);
    return outcome;
}

static const struct operation_steps disbursement_create_steps = {
    .action = "create", .creates = true, .reads_body = true, .check = check_disbursement,
    .invalid_detail = "The disbursement is invalid.", .write = insert_disbursement,
    .status = 201};

void handle_fund_disbursement_create(struct request *request)
{
    operation_handle(request, &fund_disbursements, &disbursement_create_steps);
}

void handle_fund_disbursements_list(struct request *request)
{
    fund_list(request, &fund_disbursements, &fund_disbursement_filters);
}

void handle_fund_disbursement_get(struct request *request)
{
    operation_handle(request, &fund_disbursements, &operation_read_steps);
}

/* ---- voiding a payment entered by mistake ------------------------------------------ */

static const struct json_field void_fields[] = {
    {.name = "reason", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 1000},
};

/* What a void must know of the payment: the pool it fed, and whether it
 * still counts. */
struct payment_state {
    bool voided;
    long long amount;
    bool in_kind;
    char *earmark_child_id; /* owned, NULL when none */
    char *earmark_purpose;  /* owned, NULL when none */
};

static bool read_payment_state(struct operation *operation, struct payment_state *state,
                               enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    PGresult *result = operation_query(operation, "SELECT voided_on IS NOT NULL, amount_vnd, method = 'in_kind', earmark_child_id, "
        "       earmark_purpose FROM fund_payments WHERE id = $1::uuid",
        &params, outcome);
    if (result == NULL)
        return false;
    state->voided = db_bool(result, 0, 0);
    state->amount = db_integer(result, 0, 1);
    state->in_kind = db_bool(result, 0, 2);
    const char *child = db_text(result, 0, 3), *purpose = db_text(result, 0, 4);
    state->earmark_child_id = child ? strdup(child) : NULL;
    state->earmark_purpose = purpose ? strdup(purpose) : NULL;
    PQclear(result);
    return true;
}

/* The pledge a payment was made against ("" for a donation).  Never
 * changes, so it is read before anything is locked. */
static bool read_payment_pledge(struct operation *operation, char pledge_id[AUTH_UUID_SIZE],
                                enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    PGresult *result = operation_query(operation, "SELECT coalesce(pledge_id::text, '') FROM fund_payments WHERE id = $1::uuid", &params,
        outcome);
    if (result == NULL)
        return false;
    snprintf(pledge_id, AUTH_UUID_SIZE, "%s", db_text(result, 0, 0));
    PQclear(result);
    return true;
}

/* Locks the payment's pledge before the payment itself, in the order the
 * payment path takes them (pledge, then its payments), so a void and a new
 * payment on the same pledge wait for each other instead of deadlocking. */
static bool lock_payment_pledge(struct operation *operation, const char *pledge_id,
                                enum db_outcome *outcome)
{
    if (pledge_id[0] == '\0')
        return true;
    struct pledge_terms terms = {0};
    bool found = false;
    bool ok = lock_pledge(operation, pledge_id, &terms, &found, outcome);
    free(terms.earmark_child_id);
    free(terms.earmark_purpose);
    return ok;
}

/* 409 when the money the payment brought in has already been handed out:
 * its pool would go below zero. */
static enum db_outcome refuse_spent(struct operation *operation,
                                    const struct payment_state *state, long long balance)
{
    const char *pool = state->earmark_child_id != NULL  ? "balance earmarked for its child"
                       : state->earmark_purpose != NULL ? "balance earmarked for its purpose"
                                                        : "general balance";
    char detail[320];
    snprintf(detail, sizeof detail,
             "The payment of %lld đồng has already been disbursed in part: the unit's %s in "
             "%s is %lld đồng, so voiding it would leave that pool %lld đồng short. Record the "
             "money's return first.",
             state->amount, pool, state->in_kind ? "goods" : "money", balance,
             state->amount - balance);
    return operation_refuse_with(
        operation, PROBLEM_CONFLICT, "conflict",
        json_pack("{s:I, s:I}", "available_vnd", (json_int_t)balance, "shortfall_vnd",
                  (json_int_t)(state->amount - balance)),
        detail);
}

/* Every other payment of the pledge whose allocation the void moved gets
 * its own change feed and audit entry (its version was raised). */
static bool reallocate_pledge(struct operation *operation, const char *pledge_id,
                              enum db_outcome *outcome)
{
    if (pledge_id[0] == '\0')
        return true;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, pledge_id);
    PGresult *result = operation_query(operation, "SELECT fund_reallocate_pledge($1::uuid)::text", &params,
                                      outcome);
    if (result == NULL)
        return false;
    bool ok = true;
    /* Each is read and recorded through this operation, which is then
     * pointed back at the voided payment. */
    const char *voided_id = operation->id;
    for (int row = 0; ok && row < PQntuples(result); row++) {
        operation->id = db_text(result, row, 0);
        ok = operation_written(operation, "update", outcome);
    }
    operation->id = voided_id;
    PQclear(result);
    return ok;
}

static bool mark_voided(struct operation *operation, enum db_outcome *outcome)
{
    char today[CLOCK_DATE_SIZE];
    operation_today(today);
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, operation->id);
    db_param_text(&params, today);
    db_param_text(&params, json_member_string(operation->body, "reason"));
    PGresult *result = operation_query(operation, "UPDATE fund_payments SET voided_on = $2, void_reason = $3, version = version + 1 "
        " WHERE id = $1::uuid",
        &params, outcome);
    PQclear(result);
    return result != NULL;
}

/* Nothing is deleted: the payment is stamped void (its receipt number stays
 * used), its pledge re-allocated from scratch without it, and it counts
 * nowhere from then on. */
static enum db_outcome void_payment(struct operation *operation)
{
    enum db_outcome outcome = DB_COMMIT;
    char pledge_id[AUTH_UUID_SIZE];
    if (!read_payment_pledge(operation, pledge_id, &outcome) ||
        !lock_payment_pledge(operation, pledge_id, &outcome) ||
        !operation_read(operation, true, &outcome) ||
        !operation_precondition(operation, &outcome))
        return outcome;
    struct payment_state state = {0};
    long long balance = 0;
    if (!read_payment_state(operation, &state, &outcome)) {
        /* answered */
    } else if (state.voided) {
        outcome = operation_refuse(operation, PROBLEM_CONFLICT, "conflict",
                              "The payment is already voided.");
    } else if (!locked_pool_balance(operation, operation->unit_id, state.earmark_child_id,
                                    state.earmark_purpose, state.in_kind, &balance,
                                    &outcome)) {
        /* answered */
    } else if (balance < state.amount) {
        outcome = refuse_spent(operation, &state, balance);
    } else if (mark_voided(operation, &outcome) &&
               reallocate_pledge(operation, pledge_id, &outcome)) {
        operation_written(operation, "update", &outcome);
    }
    free(state.earmark_child_id);
    free(state.earmark_purpose);
    return outcome;
}

static json_t *check_void(struct operation *operation)
{
    json_t *body = operation->body;
    json_t *errors = json_array();
    json_check_fields(body, void_fields, 1, "", false, errors);
    return errors;
}

/* The payment is read unlocked first (404 outside the scope): its pledge
 * is locked before it, in the payment path's order. */
static const struct operation_steps void_steps = {
    .action = "update", .reads_record = true, .reads_unlocked = true, .reads_body = true,
    .check = check_void, .invalid_detail = "The void is invalid.", .write = void_payment,
    .status = 200};

void handle_fund_payment_void(struct request *request)
{
    operation_handle(request, &fund_payments, &void_steps);
}
