/* Every route handler, grouped by the file (resource) that implements it.
 * The route table in routes.c is the one place that maps paths to them. */
#ifndef BAOVE_HANDLERS_H
#define BAOVE_HANDLERS_H

#include <stdbool.h>

#include "http/server.h"

/* health.c */
void handle_healthz(struct request *request);
void handle_readyz(struct request *request);
void handle_metrics(struct request *request);

/* problems.c */
void handle_problem_page(struct request *request);

/* docs.c: the API reference page, its Redoc bundle, openapi.yaml */
void handle_docs_page(struct request *request);
void handle_docs_script(struct request *request);
void handle_openapi(struct request *request);

/* auth.c */
void handle_auth_token(struct request *request);
void handle_auth_revoke(struct request *request);
void handle_me(struct request *request);
/* Resolves the bearer token into request->principal; answers 401 (or 503)
 * itself and returns false when there is no valid one.  A token this
 * process looked up recently is taken from the principal cache
 * (http/principal_cache.h) without a round trip, and the request marked
 * principal_unverified. */
bool api_authenticate(struct request *request);
/* The same from scratch, always by the real lookup, for a request whose
 * principal was refused (principal_stale) or must be verified: forgets the
 * cached one first. */
bool api_authenticate_again(struct request *request);
/* request_database()'s check of an unverified principal
 * (server_settings.verify_principal): the real lookup; true when it is
 * still the principal the request was dispatched as (now verified); false
 * after answering 401 or 503, or with request->principal_stale set when
 * the principal changed (nothing answered). */
bool api_verify_principal(struct request *request);
/* Answers 401 for a principal refused in flight once more after a fresh
 * lookup (revoked in between), dropping any reply built. */
void api_refuse_token(struct request *request);

/* children.c */
void handle_children_list(struct request *request);
void handle_child_put(struct request *request);
void handle_child_get(struct request *request);
void handle_child_patch(struct request *request);
void handle_child_delete(struct request *request);

/* batch.c: many registry writes in one request, each answered on its own */
void handle_batch(struct request *request);

/* child_records.c: one set of handlers per kind of record about a child */
#define RECORD_HANDLER_DECLARATIONS(kind)                                                   \
    void handle_##kind##_create(struct request *request);                                   \
    void handle_##kind##_list(struct request *request);                                     \
    void handle_##kind##_get(struct request *request);                                      \
    void handle_##kind##_patch(struct request *request);
RECORD_HANDLER_DECLARATIONS(circumstances)
RECORD_HANDLER_DECLARATIONS(risks)
RECORD_HANDLER_DECLARATIONS(supports)
RECORD_HANDLER_DECLARATIONS(consents)

/* cases.c */
void handle_case_create(struct request *request);
void handle_cases_list(struct request *request);
void handle_case_get(struct request *request);
void handle_case_history(struct request *request);
void handle_case_transition(struct request *request);
void handle_case_patch(struct request *request);
void handle_case_transfer(struct request *request);
void handle_case_notes_list(struct request *request);
void handle_case_note_create(struct request *request);
void handle_case_service_create(struct request *request);
void handle_case_service_patch(struct request *request);

/* fund_books.c: donors and pledges */
void handle_fund_donor_create(struct request *request);
void handle_fund_donors_list(struct request *request);
void handle_fund_donor_get(struct request *request);
void handle_fund_donor_patch(struct request *request);
void handle_fund_pledge_create(struct request *request);
void handle_fund_pledges_list(struct request *request);
void handle_fund_pledge_get(struct request *request);
void handle_fund_pledge_patch(struct request *request);
void handle_fund_pledge_cancel(struct request *request);

/* fund_money.c: payments and disbursements */
void handle_fund_payment_create(struct request *request);
void handle_fund_payments_list(struct request *request);
void handle_fund_payment_get(struct request *request);
void handle_fund_payment_void(struct request *request);
void handle_fund_disbursement_create(struct request *request);
void handle_fund_disbursements_list(struct request *request);
void handle_fund_disbursement_get(struct request *request);

/* fund_summary.c: targets, summary, public disclosure */
void handle_fund_targets_list(struct request *request);
void handle_fund_target_put(struct request *request);
void handle_fund_summary(struct request *request);
void handle_fund_disclosure(struct request *request);

#endif
