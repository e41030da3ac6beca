#include "http/request_input.h"

#include <stdio.h>
#include <string.h>

#include "http/request.h"
#include "input.h"
#include "problem.h"

/* What an iteration over the request's values found wrong. */
struct input_findings {
    json_t *errors; /* [{parameter, detail}] (owned) */
    const char *what; /* "query parameter" or "header" */
    size_t max_value;
    bool allow_tab;
};

static void note(struct input_findings *findings, const char *name, size_t name_length,
                 const char *part, enum input_fault fault)
{
    char printable[96];
    input_printable(name, name_length, printable, sizeof printable);
    problem_add_parameter_error(findings->errors, printable, "The %s%s %s.", findings->what,
                                part, input_fault_text(fault));
}

static enum MHD_Result check_value(void *closure, enum MHD_ValueKind kind, const char *name,
                                   size_t name_length, const char *value, size_t value_length)
{
    (void)kind;
    struct input_findings *findings = closure;
    if (name == NULL)
        return MHD_YES;
    enum input_fault fault = input_check(name, name_length, INPUT_MAX_QUERY_NAME, false);
    if (fault != INPUT_OK) {
        note(findings, name, name_length, "'s name", fault);
        return MHD_YES;
    }
    /* A value cut short by a NUL byte (%00) counts as a control character. */
    if (value != NULL) {
        fault = strlen(value) != value_length
                    ? INPUT_CONTROL
                    : input_check(value, value_length, findings->max_value, findings->allow_tab);
        if (fault != INPUT_OK)
            note(findings, name, name_length, "", fault);
    }
    return MHD_YES;
}

static void check_values(struct request *request, enum MHD_ValueKind kind,
                         struct input_findings *findings)
{
    MHD_get_connection_values_n(request->connection, kind, check_value, findings);
}

/* Route parameters are named by their own name; the path as a whole only
 * when no parameter explains what is wrong with it. */
static void check_path(const struct request *request, const char *path, json_t *errors)
{
    size_t named = json_array_size(errors);
    const struct route_match *match = &request->match;
    for (size_t i = 0; i < match->param_count; i++) {
        const char *value = match->params[i].value;
        enum input_fault fault = input_check(value, strlen(value), ROUTE_PARAM_SIZE, false);
        if (fault != INPUT_OK)
            problem_add_parameter_error(errors, match->params[i].name,
                                        "The path segment %s.", input_fault_text(fault));
    }
    enum input_fault fault = input_check(path, strlen(path), INPUT_MAX_PATH, false);
    if (fault != INPUT_OK && json_array_size(errors) == named)
        problem_add_parameter_error(errors, "path", "The path %s.", input_fault_text(fault));
}

json_t *request_input_errors(struct request *request, const char *path)
{
    json_t *errors = json_array();
    check_path(request, path, errors);
    struct input_findings query = {errors, "query parameter", INPUT_MAX_QUERY_VALUE, false};
    check_values(request, MHD_GET_ARGUMENT_KIND, &query);
    struct input_findings headers = {errors, "header", INPUT_MAX_HEADER_VALUE, true};
    check_values(request, MHD_HEADER_KIND, &headers);
    if (json_array_size(errors) == 0) {
        json_decref(errors);
        return NULL;
    }
    return errors;
}
