/* `baove-admin units apply --on DATE`: a reorganisation of administrative
 * units applied to the live records.  The work is units_apply() in SQL
 * (sql/functions/foundation/units_apply.sql), one statement and therefore
 * one transaction: every move, its feed entry and its audit row commit
 * together or not at all. */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "clock.h"
#include "db.h"

int admin_units_apply(PGconn *connection, int argc, char **argv)
{
    struct civil_date on;
    if (argc != 2 || strcmp(argv[0], "--on") != 0 || !date_parse(argv[1], &on)) {
        fprintf(stderr, "usage: baove-admin units apply --on YYYY-MM-DD\n");
        return 2;
    }
    struct db_params params;
    db_params_init(&params);
    db_param_text(&params, argv[1]);
    db_param_instant(&params, clock_now_us());
    PGresult *result = db_query(connection, "SELECT jsonb_pretty(units_apply($1::date, $2))",
                                &params);
    bool ok = db_ok(result);
    if (ok)
        printf("%s\n", db_text(result, 0, 0));
    else
        fprintf(stderr, "baove-admin: units apply --on %s: %s", argv[1],
                PQresultErrorMessage(result));
    PQclear(result);
    return ok ? 0 : 1;
}
