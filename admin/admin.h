/* baove-admin: the operator's command for schema, reference data and
 * credentials.  It connects as the owner role (BAOVE_ADMIN_DATABASE_URL). */
#ifndef BAOVE_ADMIN_H
#define BAOVE_ADMIN_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* Applies pending migrations from <sql_dir>/migrations, then (re)loads
 * every file of <sql_dir>/functions, all in one transaction; 0 on success. */
int admin_migrate(PGconn *connection, const char *sql_dir);

/* The files of <sql_dir>/functions (admin/schema_objects.c), read and
 * checksummed, in the order they are loaded.  NULL on failure (reported). */
struct admin_object_files;
struct admin_object_files *admin_object_files_read(const char *sql_dir);
void admin_object_files_free(struct admin_object_files *objects);

/* Runs every file in the caller's transaction, records its checksum in
 * schema_objects and says on stderr what was new, changed or removed.
 * False on failure (reported); the caller rolls back. */
bool admin_object_files_load(PGconn *connection, const struct admin_object_files *objects);

/* The highest migration version applied, or -1 when none (or no table). */
int admin_schema_version(PGconn *connection);

/* Loads every .sql file of <sql_dir>/seed (idempotent) and, with demo, one user per role;
 * with lived_in as well, the lived-in demo year (demo_lived_in(), idempotent). */
int admin_seed(PGconn *connection, const char *sql_dir, bool demo, bool lived_in);

#define ADMIN_DEMO_MAX_CHILDREN 10000000LL
#define ADMIN_DEMO_MAX_COMMUNES 50000LL

/* `seed [--demo [--users-only | --children N [--communes M]]]` */
struct admin_seed_options {
    bool demo;
    /* --users-only: the demo users without the lived-in year (what tests
     * stand on: their counts start from nothing). */
    bool users_only;
    long long children; /* 0: none */
    long long communes;
};

/* Parses the arguments after "seed"; false after saying why on stderr. */
bool admin_seed_parse(int argc, char **argv, struct admin_seed_options *options);

/* Synthetic, deterministic demo data (admin/demo.c): `communes` made-up
 * communes under district 870 and `children` made-up children spread over
 * the district's 2020 communes, with special circumstances, supports and
 * change-log rows.  Idempotent.  Returns 0, or 1 after saying why. */
int admin_seed_demo(PGconn *connection, long long children, long long communes);

int admin_user_add(PGconn *connection, int argc, char **argv);
int admin_user_disable(PGconn *connection, int argc, char **argv);
int admin_user_move(PGconn *connection, int argc, char **argv);
int admin_user_set_role(PGconn *connection, int argc, char **argv);

/* `units apply --on DATE` (admin/units.c): applies the successions
 * effective on DATE in one transaction (units_apply() in SQL) and prints
 * what moved and what was left as JSON on stdout.  0, or 1 after saying
 * why; running it again changes nothing. */
int admin_units_apply(PGconn *connection, int argc, char **argv);
/* `units successions --on DATE`: the successions of a date as JSON, with
 * the hamlets of a split's records that no part names yet. */
int admin_units_successions(PGconn *connection, int argc, char **argv);
/* `units hamlets --from CODE --to CODE --on DATE --hamlet NAME...`: the
 * hamlets of a split that go to one part (replacing its list), audited. */
int admin_units_hamlets(PGconn *connection, int argc, char **argv);
int admin_token_issue(PGconn *connection, int argc, char **argv);

/* Machine clients' API keys (admin/api_keys.c): issue (a new client only;
 * names are unique), list, revoke, rotate; --ttl gives a key an expiry. */
int admin_apikey_issue(PGconn *connection, int argc, char **argv);
int admin_apikey_list(PGconn *connection, int argc, char **argv);
int admin_apikey_revoke(PGconn *connection, int argc, char **argv);
int admin_apikey_rotate(PGconn *connection, int argc, char **argv);

/* `secrets seal` (admin/secrets.c): seals the webhook secrets stored as they
 * are with the key of BAOVE_SECRETS_KEY_FILE.  0, or 1 after saying why. */
int admin_secrets_seal(PGconn *connection, int argc, char **argv);

/* People (admin/users.c): the list, and a new password (which revokes the
 * sessions the old one opened). */
int admin_user_list(PGconn *connection, int argc, char **argv);
int admin_user_reset_password(PGconn *connection, int argc, char **argv);

/* Prints a tab-separated table on stdout: the header line, then the rows. */
void admin_print_table(const char *header, const PGresult *result);

/* The value of --name in argv, NULL when absent; whether a flag is there. */
const char *admin_option(int argc, char **argv, const char *name);
bool admin_flag(int argc, char **argv, const char *name);

/* Stores the hash of a new token of `kind` for the active principal
 * `username`, expiring after ttl_seconds (0: never), and prints the token
 * alone on stdout.  Returns 0, or 1 after saying why on stderr. */
int admin_issue_token(PGconn *connection, const char *username, const char *kind,
                      const char *prefix, long long ttl_seconds);

/* The same without printing: the token is in `token` (AUTH_TOKEN_SIZE
 * bytes) for a caller that prints it only after its transaction commits. */
bool admin_store_token(PGconn *connection, const char *username, const char *kind,
                       const char *prefix, long long ttl_seconds, char *token);

/* The id of the unit with this code valid today (BAOVE_NOW or the clock),
 * as text in id_out; false when none is (users.c). */
bool admin_unit_id_today(PGconn *connection, const char *code, char *id_out, size_t size);

/* Creates a principal, hashing the password when there is one.  Returns 0,
 * or 1 after printing why not (unknown unit, taken username, …). */
int admin_create_principal(PGconn *connection, const char *kind, const char *username,
                           const char *password, const char *role, const char *unit_code);

/* Reads the files of a directory whose names end in ".sql", sorted by name.
 * Returns the count (or -1), and *names owns an array of malloc'd names. */
int admin_list_sql_files(const char *directory, char ***names);
void admin_free_names(char **names, int count);

/* Reads the whole file directory/name; the caller frees.  NULL on failure
 * (reported). */
char *admin_read_file(const char *directory, const char *name, size_t *length);

#endif
