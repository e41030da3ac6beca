/* PostgreSQL access shared by the API, the worker and the admin tool.
 *
 * Every statement is parameterised (text parameters, never spliced);
 * nothing from a request is ever spliced into SQL text. */
#ifndef BAOVE_DB_H
#define BAOVE_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DB_MAX_PARAMS 32
#define DB_NUMBER_SIZE 40 /* fits an RFC 3339 instant with microseconds */

/* A statement's text parameters.  Numbers are formatted into `numbers`, so a
 * db_params owns everything it points to except the strings passed to
 * db_param_text(), which must outlive the query. */
struct db_params {
    const char *values[DB_MAX_PARAMS];
    char numbers[DB_MAX_PARAMS][DB_NUMBER_SIZE];
    int count;
};

void db_params_init(struct db_params *params);
/* Appends a text parameter (NULL is SQL NULL).  Returns its $ number. */
int db_param_text(struct db_params *params, const char *value);
int db_param_integer(struct db_params *params, long long value);
int db_param_bool(struct db_params *params, bool value);
/* A row id, or SQL NULL when id <= 0 (ids start at 1). */
int db_param_id(struct db_params *params, long long id);
/* An instant in microseconds since the epoch, as a timestamptz literal. */
int db_param_instant(struct db_params *params, int64_t instant_us);

/* Connects and sets the session up (UTC, ISO dates, application_name).
 * Returns NULL and fills error on failure. */
PGconn *db_connect(const char *url, const char *application_name, char *error,
                   size_t error_size);

/* Sends the server's notices and asynchronous errors on this connection to
 * the JSON log instead of libpq's default plain line on stderr. */
void db_log_notices(PGconn *connection);

/* Makes db_query() keep every distinct statement text prepared on this
 * connection (for long-lived connections that run the same statements over
 * and over, like the API's).  Returns false when it could not be set up;
 * db_query() then runs statements unnamed, as on any other connection. */
bool db_prepare_statements(PGconn *connection);

/* Makes db_transaction() on this connection send its statements in as few
 * round trips as the protocol allows (libpq pipeline mode, PostgreSQL 14+):
 * BEGIN and every db_defer()red command wait and travel, in order, in one
 * flight of messages with the next statement or the COMMIT.  The statements
 * and their order are unchanged; only their grouping into round trips is.
 * Returns false when it could not be set up (then nothing is deferred). */
bool db_pipeline_transactions(PGconn *connection);

/* Queues a command whose result is only success or failure (set_config, an
 * INSERT without RETURNING) to travel with the next statement or the COMMIT
 * of the current db_transaction() on a pipelining connection.  Its failure
 * is reported as that statement's (or that COMMIT's) failure: a retryable
 * one (40001, 40P01) still retries the transaction.  Returns false when it
 * did not queue (not in such a transaction, or out of memory): the caller
 * runs the command now. */
bool db_defer(PGconn *connection, const char *sql, const struct db_params *params);

/* Runs sql as the last statement of the current db_transaction(): on a
 * pipelining connection it travels with the deferred commands before it
 * and the transaction's COMMIT after it, in one flight (one round trip);
 * db_transaction then takes that COMMIT's result instead of sending one.
 * Returns sql's result, as db_query().  When sql fails the server skips the
 * COMMIT and the transaction rolls back as usual.  For a body that would
 * commit whatever sql returns: a read whose only write (its audit entry) is
 * conditioned in sql itself, so that a body refusing what it read (absent,
 * deleted) finds nothing written.  Nothing may run after it in the
 * transaction: it has ended.  Elsewhere it is db_query(). */
PGresult *db_query_committing(PGconn *connection, const char *sql,
                              const struct db_params *params);

/* How the API's connections send statements.  Named prepared statements
 * belong to a server session; a transaction pooler (PgBouncer in
 * transaction mode) hands each transaction to whichever server session is
 * free, so a name prepared on one is missing ("26000") or already taken
 * ("42P05") on the next.  Unnamed statements (Parse, Bind, Execute in one
 * message flight) work through any pooler. */
enum db_statement_mode {
    DB_STATEMENTS_AUTO,     /* prepared, unless db_behind_pooler() */
    DB_STATEMENTS_PREPARED, /* always keep named prepared statements */
    DB_STATEMENTS_UNNAMED   /* never: parse and plan every statement */
};

/* Reads "auto", "prepared" or "unnamed" (BAOVE_DATABASE_STATEMENTS). */
bool db_parse_statement_mode(const char *text, enum db_statement_mode *mode);

/* True when something other than PostgreSQL answered the connection: the
 * process id libpq received at startup (BackendKeyData) is not the server
 * session's pg_backend_pid().  PgBouncer sends a key of its own to every
 * client; so do other poolers.  False also when the check itself fails. */
bool db_behind_pooler(PGconn *connection);

/* Whether a new connection should keep prepared statements under mode. */
bool db_statements_prepared(PGconn *connection, enum db_statement_mode mode);

/* Runs one statement.  Always returns a result (possibly an error result)
 * that the caller must PQclear, or NULL when libpq could not allocate one. */
PGresult *db_query(PGconn *connection, const char *sql, const struct db_params *params);

/* True for PGRES_COMMAND_OK and PGRES_TUPLES_OK. */
bool db_ok(const PGresult *result);

/* The SQLSTATE of a failed result, or "" . */
const char *db_sqlstate(const PGresult *result);

/* True when the failure means the connection is gone (class 08, 57P01…). */
bool db_connection_lost(PGconn *connection, const PGresult *result);

/* What a failed statement means for the client, by SQLSTATE class. */
enum db_failure {
    DB_FAILURE_LOST,     /* the connection is gone (08, 57P01-03) */
    DB_FAILURE_INPUT,    /* a data exception (22: bad encoding, value out of range) */
    DB_FAILURE_BUSY,     /* out of resources or cancelled by a timeout (53, 57014) */
    DB_FAILURE_INTERNAL  /* anything else: a bug */
};
enum db_failure db_failure_class(PGconn *connection, const PGresult *result);

/* True when retrying the whole transaction may succeed: 40001
 * (serialization failure) and 40P01 (deadlock). */
bool db_retryable(const PGresult *result);

/* Runs a statement that returns nothing; false on failure (logged). */
bool db_command(PGconn *connection, const char *sql, const struct db_params *params);

/* Value of row/column as text, NULL for SQL NULL. */
const char *db_text(const PGresult *result, int row, int column);
long long db_integer(const PGresult *result, int row, int column);
bool db_bool(const PGresult *result, int row, int column);

/* Outcome of one attempt of a transaction body. */
enum db_outcome {
    DB_COMMIT,   /* commit (and retry the whole body if COMMIT hits 40001/40P01) */
    DB_ROLLBACK, /* roll back: the body decided not to write */
    DB_RETRY,    /* roll back and run the body again: a statement hit 40001/40P01 */
    DB_FAILED    /* roll back: a statement failed for good */
};

/* Runs body inside BEGIN … COMMIT, retrying up to a few times when the
 * database reports a serialization failure or deadlock.  The body must be
 * safe to run again from the start.  Returns DB_COMMIT, DB_ROLLBACK or
 * DB_FAILED (also when the retries ran out or the commit failed for good). */
enum db_outcome db_transaction(PGconn *connection,
                               enum db_outcome (*body)(PGconn *connection, void *context),
                               void *context);

/* db_transaction, also telling (commit_lost) when the connection was lost
 * at COMMIT: the transaction may or may not have committed. */
enum db_outcome db_transaction_tracked(PGconn *connection,
                                       enum db_outcome (*body)(PGconn *connection,
                                                               void *context),
                                       void *context, bool *commit_lost);

/* Logs a failed result with its SQLSTATE and message (no parameters: they
 * may hold personal data). */
void db_log_failure(const char *what, PGconn *connection, const PGresult *result);

#endif
