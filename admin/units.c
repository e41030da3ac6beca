/* `baove-admin units apply --on DATE`: a reorganisation of administrative
 * units applied to the live records.  The work is units_apply() in SQL
 * (sql/functions/foundation/units_apply.sql), one statement and therefore
 * one transaction: every move, its feed entry and its audit row commit
 * together or not at all.
 *
 * `units successions --on DATE` shows the successions of a date and, for a
 * split, the hamlets of the records no part names yet; `units hamlets`
 * records which hamlets go to a part (units_set_hamlets), read from the
 * resolution by the administrator, never guessed by the seed. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "clock.h"
#include "db.h"

/* Runs `sql` (one jsonb answer, pretty-printed on stdout) with `params`;
 * 0, or 1 after printing PostgreSQL's reason after `what`. */
static int print_json_answer(PGconn *connection, const char *what, const char *sql,
                             const struct db_params *params)
{
    PGresult *result = db_query(connection, sql, params);
    bool ok = db_ok(result);
    if (ok)
        printf("%s\n", db_text(result, 0, 0));
    else
        fprintf(stderr, "baove-admin: %s: %s", what,
                result != NULL ? PQresultErrorMessage(result) : PQerrorMessage(connection));
    PQclear(result);
    return ok ? 0 : 1;
}

/* `--on YYYY-MM-DD` as the whole of argv; false after the usage of `command`. */
static bool only_a_date(int argc, char **argv, const char *command)
{
    struct civil_date on;
    if (argc == 2 && strcmp(argv[0], "--on") == 0 && date_parse(argv[1], &on))
        return true;
    fprintf(stderr, "usage: baove-admin units %s --on YYYY-MM-DD\n", command);
    return false;
}

int admin_units_apply(PGconn *connection, int argc, char **argv)
{
    if (!only_a_date(argc, argv, "apply"))
        return 2;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, argv[1]);
    db_param_instant(&params, clock_now_us());
    char what[64];
    snprintf(what, sizeof what, "units apply --on %s", argv[1]);
    return print_json_answer(connection, what, "SELECT jsonb_pretty(units_apply($1::date, $2))",
                             &params);
}

int admin_units_successions(PGconn *connection, int argc, char **argv)
{
    if (!only_a_date(argc, argv, "successions"))
        return 2;
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, argv[1]);
    return print_json_answer(connection, "units successions",
                             "SELECT jsonb_pretty(units_successions_on($1::date))", &params);
}

int admin_units_hamlets(PGconn *connection, int argc, char **argv)
{
    const char *from = NULL, *to = NULL, *on = NULL;
    json_t *hamlets = json_array();
    bool valid = hamlets != NULL;
    for (int i = 0; valid && i < argc; i += 2) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (value == NULL)
            valid = false;
        else if (strcmp(argv[i], "--from") == 0)
            from = value;
        else if (strcmp(argv[i], "--to") == 0)
            to = value;
        else if (strcmp(argv[i], "--on") == 0)
            on = value;
        else if (strcmp(argv[i], "--hamlet") == 0)
            valid = json_array_append_new(hamlets, json_string(value)) == 0;
        else
            valid = false;
    }
    struct civil_date day;
    char *list = valid ? json_dumps(hamlets, JSON_COMPACT) : NULL;
    json_decref(hamlets);
    if (list == NULL || from == NULL || to == NULL || on == NULL || !date_parse(on, &day)) {
        fprintf(stderr, "usage: baove-admin units hamlets --from CODE --to CODE "
                        "--on YYYY-MM-DD --hamlet NAME [--hamlet NAME ...]\n"
                        "(a hamlet name that is not valid UTF-8 is refused)\n");
        free(list);
        return 2;
    }
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, from);
    db_param_text(&params, to);
    db_param_text(&params, on);
    db_param_text(&params, list);
    db_param_instant(&params, clock_now_us());
    int status = print_json_answer(
        connection, "units hamlets",
        "SELECT jsonb_pretty(units_set_hamlets($1, $2, $3::date, "
        "    ARRAY(SELECT jsonb_array_elements_text($4::jsonb)), $5))",
        &params);
    free(list);
    return status;
}
