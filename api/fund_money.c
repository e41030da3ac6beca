/* Money in and out of the fund's books: payments received (against a
 * pledge, or plain donations) and disbursements.  See fund.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fund.h"
#include "handlers.h"
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

static json_t *check_payment(json_t *body)
{
    json_t *errors = json_array();
    if (!json_check_fields(body, payment_fields,
                           sizeof payment_fields / sizeof payment_fields[0], "", false, errors))
        return errors;
    fund_check_not_future(body, "received_on", errors);
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
static bool lock_pledge(struct fund_operation *operation, const char *pledge_id,
                        struct pledge_terms *terms, bool *found, enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, pledge_id);
    PGresult *result = registry_query(
        operation->request,
        "SELECT unit_id, donor_id, cancelled_on IS NOT NULL, earmark_child_id, earmark_purpose "
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

/* Applies `amount` to the pledge's open instalments, oldest due first;
 * returns how much was applied (the rest is an overpayment), -1 on failure.
 * Running totals stay within the pledge's amount (≤ 10^12) plus one
 * payment (≤ 10^12): bigint is safe. */
static long long apply_to_instalments(struct fund_operation *operation, const char *pledge_id,
                                      long long amount, enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, pledge_id);
    db_param_integer(&params, amount);
    PGresult *result = registry_query(
        operation->request,
        "WITH open AS ( "
        "  SELECT i.id, i.amount_vnd - i.paid_vnd AS open_vnd, "
        "         sum(i.amount_vnd - i.paid_vnd) OVER (ORDER BY i.due_on, i.id) "
        "           - (i.amount_vnd - i.paid_vnd) AS before_vnd "
        "    FROM fund_instalments i "
        "   WHERE i.pledge_id = $1::uuid AND i.paid_vnd < i.amount_vnd), "
        "applied AS ( "
        "  UPDATE fund_instalments i "
        "     SET paid_vnd = i.paid_vnd + least(o.open_vnd, $2::bigint - o.before_vnd) "
        "    FROM open o WHERE i.id = o.id AND o.before_vnd < $2::bigint "
        "  RETURNING least(o.open_vnd, $2::bigint - o.before_vnd) AS applied_vnd) "
        "SELECT coalesce(sum(applied_vnd), 0)::bigint FROM applied",
        &params, outcome);
    if (result == NULL)
        return -1;
    long long applied = db_integer(result, 0, 0);
    PQclear(result);
    return applied;
}

/* Inserts the payment; a receipt number already used by the unit in that
 * year is a 409 (the statement's unique violation, not a failure). */
static bool insert_payment_row(struct fund_operation *operation, long long unit_id,
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
        operation->request->database,
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
        *outcome = fund_refuse(operation, PROBLEM_CONFLICT, "conflict", detail);
    } else if (db_retryable(result)) {
        *outcome = DB_RETRY;
    } else {
        reply_database_failure(operation->request, "fund payment", result);
        *outcome = DB_FAILED;
    }
    PQclear(result);
    return false;
}

/* A payment against a pledge: the pledge must be visible, open, of the same
 * unit (and donor, when one is named). */
static enum db_outcome pay_pledge(struct fund_operation *operation, long long unit_id,
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
        outcome = fund_refuse(operation, PROBLEM_NOT_FOUND, "not_found", "No such pledge.");
    } else if (terms.cancelled) {
        outcome = fund_refuse(operation, PROBLEM_CONFLICT, "conflict",
                              "The pledge is cancelled; record the money as a donation "
                              "without pledge_id.");
    } else if (json_array_size(errors) > 0) {
        outcome = fund_refuse_invalid(operation, errors, "The payment does not fit its pledge.");
        errors = NULL;
    } else {
        long long amount = json_integer_value(json_object_get(body, "amount_vnd"));
        long long applied = apply_to_instalments(operation, pledge_id, amount, &outcome);
        if (applied >= 0)
            insert_payment_row(operation, unit_id, terms.donor_id, applied, amount - applied,
                               terms.earmark_child_id, terms.earmark_purpose, &outcome);
    }
    json_decref(errors);
    free(terms.earmark_child_id);
    free(terms.earmark_purpose);
    return outcome;
}

static enum db_outcome insert_payment(struct fund_operation *operation,
                                      enum idempotency idempotency)
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
        bool visible = true;
        if (donor_id != NULL &&
            !fund_visible(operation, "fund_donors", donor_id, &visible, &outcome))
            return outcome;
        if (!visible)
            return fund_refuse(operation, PROBLEM_NOT_FOUND, "not_found", "No such donor.");
        const char *child_id = json_member_string(earmark, "child_id");
        if (child_id != NULL &&
            !fund_visible(operation, "children", child_id, &visible, &outcome))
            return outcome;
        if (!visible)
            return fund_refuse(operation, PROBLEM_NOT_FOUND, "not_found", "No such child.");
        insert_payment_row(operation, unit_id, donor_id, 0, 0, child_id,
                           json_member_string(earmark, "purpose"), &outcome);
    }
    if (outcome != DB_COMMIT)
        return outcome;
    operation->status = 201;
    if (fund_written(operation, "create", &outcome))
        fund_remember(operation, idempotency, &outcome);
    return outcome;
}

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
    fund_create(request, &fund_payments, check_payment, insert_payment);
}

void handle_fund_payments_list(struct request *request)
{
    fund_list(request, &fund_payments);
}

void handle_fund_payment_get(struct request *request)
{
    fund_get(request, &fund_payments);
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

static json_t *check_disbursement(json_t *body)
{
    json_t *errors = json_array();
    if (json_check_fields(body, disbursement_fields,
                          sizeof disbursement_fields / sizeof disbursement_fields[0], "", false,
                          errors))
        fund_check_not_future(body, "disbursed_on", errors);
    return errors;
}

/* The balance of the pool the disbursement draws on, with the unit's books
 * locked against other disbursements until this transaction ends (so two
 * at once cannot both spend the same money). */
static bool pool_balance(struct fund_operation *operation, long long unit_id,
                         long long *balance, enum db_outcome *outcome)
{
    const json_t *body = operation->body;
    bool earmarked = json_is_true(json_object_get(body, "earmarked"));
    const char *child_id = json_member_string(body, "child_id");
    struct db_params params;
    db_params_init(&params);
    db_param_integer(&params, unit_id);
    db_param_text(&params, earmarked ? child_id : NULL);
    db_param_text(&params, earmarked && child_id == NULL ? json_member_string(body, "purpose")
                                                         : NULL);
    db_param_bool(&params, json_is_true(json_object_get(body, "in_kind")));
    struct db_params lock_params;
    db_params_init(&lock_params);
    db_param_integer(&lock_params, unit_id);
    PGresult *result = registry_query(
        operation->request,
        "SELECT pg_advisory_xact_lock(hashtextextended('fund_books:' || $1::text, 0))",
        &lock_params, outcome);
    if (result == NULL)
        return false;
    PQclear(result);
    /* A statement after the lock sees what a disbursement that held it
     * committed (read committed takes a new snapshot per statement). */
    result = registry_query(operation->request,
                            "SELECT fund_pool_balance($1::bigint, $2::uuid, $3::text, $4::boolean)", &params,
                            outcome);
    if (result == NULL)
        return false;
    *balance = db_integer(result, 0, 0);
    PQclear(result);
    return true;
}

static enum db_outcome refuse_overdraft(struct fund_operation *operation, long long balance,
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
    reply_problem_members(operation->request, PROBLEM_CONFLICT, detail,
                          json_pack("{s:I}", "available_vnd", (json_int_t)balance));
    operation->refusal = "conflict";
    return DB_ROLLBACK;
}

static enum db_outcome insert_disbursement(struct fund_operation *operation,
                                           enum idempotency idempotency)
{
    enum db_outcome outcome = DB_COMMIT;
    const json_t *body = operation->body;
    long long unit_id = fund_resolve_unit(operation, json_member_string(body, "unit"), &outcome);
    if (unit_id <= 0)
        return outcome;
    const char *child_id = json_member_string(body, "child_id");
    bool visible = true;
    if (child_id != NULL && !fund_visible(operation, "children", child_id, &visible, &outcome))
        return outcome;
    if (!visible)
        return fund_refuse(operation, PROBLEM_NOT_FOUND, "not_found", "No such child.");
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
    PGresult *result = registry_query(
        operation->request,
        "INSERT INTO fund_disbursements (id, unit_id, year, amount_vnd, disbursed_on, "
        "  decision_no, purpose, child_id, earmarked, note, created_at, in_kind) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &params, &outcome);
    PQclear(result);
    operation->status = 201;
    if (result != NULL && fund_written(operation, "create", &outcome))
        fund_remember(operation, idempotency, &outcome);
    return outcome;
}

void handle_fund_disbursement_create(struct request *request)
{
    fund_create(request, &fund_disbursements, check_disbursement, insert_disbursement);
}

void handle_fund_disbursements_list(struct request *request)
{
    fund_list(request, &fund_disbursements);
}

void handle_fund_disbursement_get(struct request *request)
{
    fund_get(request, &fund_disbursements);
}
