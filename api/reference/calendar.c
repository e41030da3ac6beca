/* The working-day calendar of a year: GET /v1/calendar/{year} and PUT
 * /v1/calendar/{year}, and what the legal deadlines count in
 * (calendar_span_load).  A year without a stored decision follows the
 * default of common/working_calendar.c (Labour Code 2019 Art. 112); PUT
 * stores the Prime Minister's decision for the year (days off and make-up
 * working days), which then replaces the default entirely (migration 0015).
 * Not personal data: reads are not audited; writes are. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "json.h"
#include "operation/lifecycle.h"
#include "reference/calendar.h"
#include "reference/reference.h"
#include "working_calendar.h"

/* Per year: whether a decision is stored, its version and text, and its
 * days off and working days as JSON arrays (empty without a decision). */
static const char calendar_sql[] =
    "SELECT y, c.year IS NOT NULL, coalesce(c.version, 0), c.decision, "
    "  coalesce((SELECT json_agg(json_build_object('day', h.day::text, 'name_vi', h.name_vi, "
    "                   'name_en', h.name_en) ORDER BY h.day) FROM public_holidays h "
    "             WHERE h.day BETWEEN make_date(y, 1, 1) AND make_date(y, 12, 31)), '[]')::text, "
    "  coalesce((SELECT json_agg(json_build_object('day', w.day::text, 'name', w.name) "
    "                   ORDER BY w.day) FROM calendar_working_days w "
    "             WHERE w.day BETWEEN make_date(y, 1, 1) AND make_date(y, 12, 31)), '[]')::text "
    "  FROM generate_series($1::int, $2::int) y LEFT JOIN calendar_years c ON c.year = y "
    " ORDER BY y";

static PGresult *query_years(struct operation *operation, int first_year, int last_year,
                             enum db_outcome *outcome)
{
    struct db_params params;
    db_params_init(&params);
    db_param_integer(&params, first_year);
    db_param_integer(&params, last_year);
    return operation_query(operation, calendar_sql, &params, outcome);
}

/* A JSON array column (the decision's days). */
static json_t *stored_days(const PGresult *result, int row, int column)
{
    json_t *days = json_loads(db_text(result, row, column), 0, NULL);
    return days != NULL ? days : json_array();
}

static json_t *default_days_off(int year)
{
    struct calendar_day days[CALENDAR_MAX_DAYS];
    size_t count = calendar_default_days_off(year, days);
    json_t *list = json_array();
    for (size_t i = 0; i < count; i++) {
        char text[CLOCK_DATE_SIZE];
        date_format(days[i].date, text);
        json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "day", text, "name_vi",
                                              days[i].name_vi, "name_en", days[i].name_en));
    }
    return list;
}

/* The calendar document of the row's year. */
static json_t *calendar_document(const PGresult *result, int row)
{
    int year = (int)db_integer(result, row, 0);
    bool decided = db_bool(result, row, 1);
    const char *decision = db_text(result, row, 3);
    return json_pack("{s:i, s:s, s:o, s:o, s:o, s:o}", "year", year, "source",
                     decided ? "decision" : "default", "decision",
                     decision ? json_string(decision) : json_null(), "days_off",
                     decided ? stored_days(result, row, 4) : default_days_off(year),
                     "working_days", stored_days(result, row, 5), "version",
                     decided ? json_integer(db_integer(result, row, 2)) : json_null());
}

static void append_dates(const json_t *days, struct civil_date *out, size_t *count,
                         size_t capacity)
{
    size_t index;
    const json_t *day;
    json_array_foreach(days, index, day) {
        if (*count < capacity && date_parse(json_member_string(day, "day"), &out[*count]))
            (*count)++;
    }
}

bool calendar_span_load(struct operation *operation, int first_year, int last_year,
                        struct calendar_span *span, enum db_outcome *outcome)
{
    PGresult *result = query_years(operation, first_year, last_year, outcome);
    if (result == NULL)
        return false;
    *span = (struct calendar_span){0};
    for (int row = 0; row < PQntuples(result); row++) {
        json_t *document = calendar_document(result, row);
        append_dates(json_object_get(document, "days_off"), span->days_off,
                     &span->days_off_count, CALENDAR_SPAN_DAYS);
        append_dates(json_object_get(document, "working_days"), span->working_days,
                     &span->working_day_count, CALENDAR_SPAN_DAYS);
        json_decref(document);
    }
    PQclear(result);
    return true;
}

/* ---- the resource ------------------------------------------------------------ */

/* The year of the path, validated by the handlers. */
struct calendar_request {
    int year;
};

static bool read_calendar(struct operation *operation, bool lock, enum db_outcome *outcome)
{
    const struct calendar_request *calendar = operation->domain;
    if (lock) {
        struct db_params params;
        db_params_init(&params);
        db_param_integer(&params, calendar->year);
        PGresult *locked = operation_query(
            operation, "SELECT 1 FROM calendar_years WHERE year = $1 FOR UPDATE", &params,
            outcome);
        if (locked == NULL)
            return false;
        PQclear(locked);
    }
    PGresult *result = query_years(operation, calendar->year, calendar->year, outcome);
    if (result == NULL)
        return false;
    operation->found = db_bool(result, 0, 1);
    operation->version = db_integer(result, 0, 2);
    operation->unit_id = operation->request->principal.unit_id;
    json_t *document = calendar_document(result, 0);
    PQclear(result);
    char *text = json_dumps(document, JSON_COMPACT);
    json_decref(document);
    bool kept = text != NULL && operation_keep_document(operation, text);
    free(text);
    if (!kept)
        *outcome = DB_FAILED;
    return kept;
}

static const struct resource calendar_resource = {
    .name = "calendar", .table = "calendar_years", .audit_type = "calendar",
    .read = read_calendar};

static bool calendar_year_valid(struct request *request, const char *text, int *year)
{
    long long value;
    if (config_parse_integer(text, 2000, 2100, &value)) {
        *year = (int)value;
        return true;
    }
    reply_problem(request, PROBLEM_NOT_FOUND, "No such calendar: the year must be 2000 to 2100.");
    return false;
}

static enum db_outcome get_calendar(struct operation *operation)
{
    enum db_outcome outcome = DB_COMMIT;
    read_calendar(operation, false, &outcome);
    return outcome;
}

static const struct operation_steps get_steps = {
    .action = "read", .query = get_calendar, .status = 200, .quiet_read = true,
    .quiet_refusals = true};

void handle_calendar_get(struct request *request)
{
    struct calendar_request calendar;
    if (!calendar_year_valid(request, route_param(&request->match, "year"), &calendar.year))
        return;
    struct operation operation = {.domain = &calendar};
    if (operation_begin(&operation, request, &calendar_resource, &get_steps, false))
        operation_run(&operation);
}

/* ---- PUT ------------------------------------------------------------------------ */

static const struct json_field calendar_fields[] = {
    {.name = "decision", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 300},
    {.name = "days_off", .kind = JSON_FIELD_ARRAY, .required = true},
    {.name = "working_days", .kind = JSON_FIELD_ARRAY, .required = true},
};

static const struct json_field day_off_fields[] = {
    {.name = "day", .kind = JSON_FIELD_DATE, .required = true},
    {.name = "name_vi", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 200},
    {.name = "name_en", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 200},
};

static const struct json_field working_day_fields[] = {
    {.name = "day", .kind = JSON_FIELD_DATE, .required = true},
    {.name = "name", .kind = JSON_FIELD_STRING, .required = true, .min_length = 1,
     .max_length = 200},
};

/* Each day lies in the year, once in the whole body; a make-up working day
 * is a Saturday or Sunday and a day off is not one of them. */
static void check_days(const json_t *body, const char *name, int year,
                       const struct json_field *fields, size_t count, json_t *errors)
{
    const json_t *days = json_object_get(body, name);
    size_t index;
    const json_t *day;
    json_array_foreach(days, index, day) {
        char pointer[64];
        snprintf(pointer, sizeof pointer, "/%s/%zu", name, index);
        struct civil_date date;
        if (!json_is_object(day)) {
            problem_add_field_error(errors, pointer, "must be an object");
            continue;
        }
        if (!json_check_fields(day, fields, count, pointer, false, errors) ||
            !date_parse(json_member_string(day, "day"), &date))
            continue;
        strcat(pointer, "/day");
        if (date.year != year)
            problem_add_field_error(errors, pointer, "must be in %d", year);
        else if (strcmp(name, "working_days") == 0 && civil_weekday(date) < 6)
            problem_add_field_error(errors, pointer, "must be a Saturday or a Sunday");
    }
}

static json_t *check_calendar(struct operation *operation)
{
    const struct calendar_request *calendar = operation->domain;
    json_t *errors = json_array();
    json_check_fields(operation->body, calendar_fields,
                      sizeof calendar_fields / sizeof calendar_fields[0], "", false, errors);
    check_days(operation->body, "days_off", calendar->year, day_off_fields,
               sizeof day_off_fields / sizeof day_off_fields[0], errors);
    check_days(operation->body, "working_days", calendar->year, working_day_fields,
               sizeof working_day_fields / sizeof working_day_fields[0], errors);
    return errors;
}

/* The decision replaces the year's rows; a day named twice is a 422 (the
 * primary keys refuse it: checked first, so nothing is written). */
static const char write_sql[] =
    "WITH body AS (SELECT $2::jsonb AS b), "
    "duplicated AS (SELECT d.day FROM body, jsonb_to_recordset(b -> 'days_off' || "
    "                 (b -> 'working_days')) d (day date) GROUP BY d.day HAVING count(*) > 1), "
    "year_row AS (INSERT INTO calendar_years AS c (year, decision, updated_at) "
    "             SELECT $1::smallint, b ->> 'decision', $3 FROM body "
    "              WHERE NOT EXISTS (SELECT FROM duplicated) "
    "             ON CONFLICT (year) DO UPDATE SET decision = EXCLUDED.decision, "
    "                version = c.version + 1, updated_at = EXCLUDED.updated_at RETURNING 1) "
    "SELECT (SELECT min(day)::text FROM duplicated), (SELECT count(*) FROM year_row)";

static bool replace_days(struct operation *operation, const char *body, enum db_outcome *outcome)
{
    const struct calendar_request *calendar = operation->domain;
    static const char *const statements[] = {
        "DELETE FROM public_holidays WHERE extract(year FROM day) = $1::int",
        "DELETE FROM calendar_working_days WHERE extract(year FROM day) = $1::int",
        ("INSERT INTO public_holidays (day, name_vi, name_en) "
         "SELECT d.day, d.name_vi, d.name_en "
         "  FROM jsonb_to_recordset($1::jsonb -> 'days_off') d (day date, name_vi text, "
         "       name_en text)"),
        ("INSERT INTO calendar_working_days (day, name) SELECT d.day, d.name "
         "  FROM jsonb_to_recordset($1::jsonb -> 'working_days') d (day date, name text)")};
    for (size_t i = 0; i < sizeof statements / sizeof statements[0]; i++) {
        struct db_params params;
        db_params_init(&params);
        /* The deletes take the year, the inserts the body. */
        if (i < 2)
            db_param_integer(&params, calendar->year);
        else
            db_param_text(&params, body);
        PGresult *result = operation_query(operation, statements[i], &params, outcome);
        if (result == NULL)
            return false;
        PQclear(result);
    }
    return true;
}

static enum db_outcome write_calendar(struct operation *operation, const char *body)
{
    const struct calendar_request *calendar = operation->domain;
    enum db_outcome outcome = DB_COMMIT;
    struct db_params params;
    db_params_init(&params);
    db_param_integer(&params, calendar->year);
    db_param_text(&params, body);
    db_param_instant(&params, clock_now_us());
    PGresult *result = operation_query(operation, write_sql, &params, &outcome);
    if (result == NULL)
        return outcome;
    if (db_text(result, 0, 0) != NULL) {
        json_t *errors = json_array();
        problem_add_field_error(errors, "", "names %s twice", db_text(result, 0, 0));
        PQclear(result);
        return operation_refuse_invalid(operation, errors, "The calendar is invalid.");
    }
    PQclear(result);
    bool existed = operation->found;
    if (!replace_days(operation, body, &outcome) || !read_calendar(operation, false, &outcome))
        return outcome;
    operation->change = existed ? "update" : "create";
    operation->status = 200;
    return DB_COMMIT;
}

static enum db_outcome put_calendar(struct operation *operation)
{
    enum db_outcome outcome = DB_COMMIT;
    if (!read_calendar(operation, true, &outcome))
        return outcome;
    /* Without a decision the version is 0: stored without If-Match; once
     * stored, If-Match must name its version. */
    if (operation->if_match != operation->version) {
        operation_precondition(operation, &outcome);
        return outcome;
    }
    char *body = json_dumps(operation->body, JSON_COMPACT);
    if (body == NULL)
        return DB_FAILED;
    outcome = write_calendar(operation, body);
    free(body);
    return outcome;
}

static const struct operation_steps put_steps = {
    .action = "update", .reads_body = true, .check = check_calendar,
    .invalid_detail = "The calendar is invalid.", .write = put_calendar, .change = "update",
    .status = 200, .quiet_refusals = true};

void handle_calendar_put(struct request *request)
{
    struct calendar_request calendar;
    if (!calendar_year_valid(request, route_param(&request->match, "year"), &calendar.year))
        return;
    struct operation operation = {.domain = &calendar};
    if (operation_begin(&operation, request, &calendar_resource, &put_steps, true))
        operation_run(&operation);
    json_decref(operation.body);
}
