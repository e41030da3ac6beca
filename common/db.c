#include "db.h"

#include <libpq-events.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"

#define DB_TRANSACTION_ATTEMPTS 5

void db_params_init(struct db_params *params)
{
    params->count = 0;
}

int db_param_text(struct db_params *params, const char *value)
{
    if (params->count >= DB_MAX_PARAMS)
        abort(); /* a programming error: the statement has too many parameters */
    params->values[params->count] = value;
    return ++params->count;
}

int db_param_integer(struct db_params *params, long long value)
{
    if (params->count >= DB_MAX_PARAMS)
        abort();
    snprintf(params->numbers[params->count], DB_NUMBER_SIZE, "%lld", value);
    params->values[params->count] = params->numbers[params->count];
    return ++params->count;
}

int db_param_bool(struct db_params *params, bool value)
{
    return db_param_text(params, value ? "true" : "false");
}

int db_param_id(struct db_params *params, long long id)
{
    return id > 0 ? db_param_integer(params, id) : db_param_text(params, NULL);
}

int db_param_instant(struct db_params *params, int64_t instant_us)
{
    if (params->count >= DB_MAX_PARAMS)
        abort();
    /* A UTC text literal keeps microsecond precision; timestamptz parses it. */
    clock_format_instant(instant_us, params->numbers[params->count], DB_NUMBER_SIZE);
    params->values[params->count] = params->numbers[params->count];
    return ++params->count;
}

static void log_notice(void *closure, const char *message)
{
    (void)closure;
    char line[512];
    snprintf(line, sizeof line, "%s", message);
    line[strcspn(line, "\n")] = '\0';
    log_event(LOG_WARN, "database_notice", json_pack("{s:s}", "message", line));
}

void db_log_notices(PGconn *connection)
{
    PQsetNoticeProcessor(connection, log_notice, NULL);
}

PGconn *db_connect(const char *url, const char *application_name, char *error,
                   size_t error_size)
{
    if (url == NULL) {
        snprintf(error, error_size, "DATABASE_URL is not set");
        return NULL;
    }
    const char *keywords[] = {"dbname", "application_name", "connect_timeout", NULL};
    const char *values[] = {url, application_name, "5", NULL};
    PGconn *connection = PQconnectdbParams(keywords, values, 1);
    if (connection == NULL) {
        snprintf(error, error_size, "out of memory");
        return NULL;
    }
    if (PQstatus(connection) != CONNECTION_OK) {
        snprintf(error, error_size, "%s", PQerrorMessage(connection));
        /* libpq messages end with a newline; logs are one line each. */
        error[strcspn(error, "\n")] = '\0';
        PQfinish(connection);
        return NULL;
    }
    db_log_notices(connection);
    PGresult *result = PQexec(connection, "SET TIME ZONE 'UTC'; SET datestyle = 'ISO, YMD'; "
                                          "SET intervalstyle = 'iso_8601'");
    bool ok = db_ok(result);
    PQclear(result);
    if (!ok) {
        snprintf(error, error_size, "session setup failed: %s", PQerrorMessage(connection));
        PQfinish(connection);
        return NULL;
    }
    return connection;
}

/* ---- per-connection state ----------------------------------------------------
 *
 * Unnamed statements are parsed and planned again on every call; for the
 * API's short statements over row-level security that is most of the time
 * they take.  A connection that opted in (db_prepare_statements) keeps each
 * distinct statement text prepared under a name of its own, found again
 * through an open-addressing table keyed by the text.  Prepared statements
 * survive a rolled-back transaction, so the table never goes stale; a
 * statement that fails to prepare is not remembered.
 *
 * A connection that opted in to pipelining (db_pipeline_transactions) also
 * holds the commands deferred within the current db_transaction (see
 * db_defer).  The state belongs to the connection (libpq instance data) and
 * is freed with it. */

#define STATEMENT_CACHE_SLOTS 1024     /* power of two */
#define STATEMENT_CACHE_CAPACITY 768   /* beyond this, statements run unnamed */

struct statement_cache {
    char *texts[STATEMENT_CACHE_SLOTS]; /* owned copies; NULL for a free slot */
    unsigned count;
};

/* A command whose only result is success or failure, waiting to travel with
 * the next statement or the COMMIT.  One allocation: values point into it. */
struct deferred_command {
    struct deferred_command *next;
    const char *sql;
    int count;
    const char *values[DB_MAX_PARAMS];
    char text[]; /* sql, then each non-NULL value, each NUL-terminated */
};

struct connection_state {
    struct statement_cache *statements; /* NULL: statements run unnamed */
    bool pipelines;                     /* db_pipeline_transactions() was called */
    bool in_transaction;                /* within db_transaction: db_defer queues */
    struct deferred_command *first, *last;
    /* The COMMIT that travelled with db_query_committing()'s statement:
     * its result, for db_transaction to take instead of sending another
     * (owned); NULL when none did. */
    PGresult *commit;
};

static int connection_state_event(PGEventId event, void *event_info, void *pass_through);

static void deferred_clear(struct connection_state *state)
{
    while (state->first != NULL) {
        struct deferred_command *next = state->first->next;
        free(state->first);
        state->first = next;
    }
    state->last = NULL;
}

static void statement_cache_free(struct statement_cache *cache)
{
    if (cache == NULL)
        return;
    for (unsigned slot = 0; slot < STATEMENT_CACHE_SLOTS; slot++)
        free(cache->texts[slot]);
    free(cache);
}

static int connection_state_event(PGEventId event, void *event_info, void *pass_through)
{
    (void)pass_through;
    if (event == PGEVT_CONNRESET || event == PGEVT_CONNDESTROY) {
        /* A reset connection is a new session without our statements. */
        PGconn *connection = event == PGEVT_CONNRESET
                                 ? ((PGEventConnReset *)event_info)->conn
                                 : ((PGEventConnDestroy *)event_info)->conn;
        struct connection_state *state = PQinstanceData(connection, connection_state_event);
        if (state == NULL)
            return 1;
        deferred_clear(state);
        state->in_transaction = false;
        struct statement_cache *cache = state->statements;
        if (event == PGEVT_CONNRESET && cache != NULL) {
            for (unsigned slot = 0; slot < STATEMENT_CACHE_SLOTS; slot++) {
                free(cache->texts[slot]);
                cache->texts[slot] = NULL;
            }
            cache->count = 0;
        } else if (event == PGEVT_CONNDESTROY) {
            statement_cache_free(cache);
            free(state);
        }
    }
    return 1;
}

static struct connection_state *connection_state(PGconn *connection)
{
    return PQinstanceData(connection, connection_state_event);
}

/* The connection's state, created on first use; NULL when out of memory. */
static struct connection_state *connection_state_created(PGconn *connection)
{
    struct connection_state *state = connection_state(connection);
    if (state != NULL)
        return state;
    state = calloc(1, sizeof *state);
    if (state == NULL)
        return NULL;
    if (!PQregisterEventProc(connection, connection_state_event, "baove connection state",
                             NULL) ||
        !PQsetInstanceData(connection, connection_state_event, state)) {
        free(state);
        return NULL;
    }
    return state;
}

bool db_prepare_statements(PGconn *connection)
{
    struct connection_state *state = connection_state_created(connection);
    if (state == NULL)
        return false;
    if (state->statements == NULL)
        state->statements = calloc(1, sizeof *state->statements);
    return state->statements != NULL;
}

bool db_pipeline_transactions(PGconn *connection)
{
    struct connection_state *state = connection_state_created(connection);
    if (state != NULL)
        state->pipelines = true;
    return state != NULL;
}

bool db_parse_statement_mode(const char *text, enum db_statement_mode *mode)
{
    static const struct {
        const char *name;
        enum db_statement_mode mode;
    } modes[] = {{"auto", DB_STATEMENTS_AUTO},
                 {"prepared", DB_STATEMENTS_PREPARED},
                 {"unnamed", DB_STATEMENTS_UNNAMED}};
    for (size_t index = 0; index < sizeof modes / sizeof modes[0]; index++)
        if (strcmp(text, modes[index].name) == 0) {
            *mode = modes[index].mode;
            return true;
        }
    return false;
}

bool db_behind_pooler(PGconn *connection)
{
    PGresult *result = PQexec(connection, "SELECT pg_backend_pid()");
    bool behind = db_ok(result) && PQntuples(result) == 1 &&
                  db_integer(result, 0, 0) != (long long)PQbackendPID(connection);
    PQclear(result);
    return behind;
}

bool db_statements_prepared(PGconn *connection, enum db_statement_mode mode)
{
    switch (mode) {
    case DB_STATEMENTS_PREPARED:
        return true;
    case DB_STATEMENTS_UNNAMED:
        return false;
    case DB_STATEMENTS_AUTO:
        break;
    }
    return !db_behind_pooler(connection);
}

/* FNV-1a: statement texts are short and few. */
static unsigned statement_hash(const char *sql)
{
    uint32_t hash = 2166136261u;
    for (const unsigned char *c = (const unsigned char *)sql; *c != '\0'; c++)
        hash = (hash ^ *c) * 16777619u;
    return hash;
}

/* The slot holding sql, or the free slot where it would go. */
static unsigned statement_slot(const struct statement_cache *cache, const char *sql)
{
    unsigned slot = statement_hash(sql) & (STATEMENT_CACHE_SLOTS - 1);
    while (cache->texts[slot] != NULL && strcmp(cache->texts[slot], sql) != 0)
        slot = (slot + 1) & (STATEMENT_CACHE_SLOTS - 1);
    return slot;
}

/* Prepares sql under its slot's name unless it is already, when the
 * connection keeps prepared statements and has room.  Returns true when the
 * statement may run by name (*slot_out), false when it runs unnamed; an
 * error of the prepare itself goes to *failure (the caller's to clear). */
static bool statement_prepared(PGconn *connection, struct statement_cache *cache,
                               const char *sql, unsigned *slot_out, PGresult **failure)
{
    *failure = NULL;
    if (cache == NULL)
        return false;
    unsigned slot = statement_slot(cache, sql);
    *slot_out = slot;
    if (cache->texts[slot] != NULL)
        return true;
    if (cache->count >= STATEMENT_CACHE_CAPACITY)
        return false;
    char *text = strdup(sql);
    if (text == NULL)
        return false;
    char name[16];
    snprintf(name, sizeof name, "baove_%u", slot);
    PGresult *prepared = PQprepare(connection, name, sql, 0, NULL);
    if (!db_ok(prepared)) {
        free(text);
        *failure = prepared; /* the statement's own error (syntax, aborted transaction…) */
        return false;
    }
    PQclear(prepared);
    cache->texts[slot] = text;
    cache->count++;
    return true;
}

/* Sends one statement into the pipeline, by name when it is prepared
 * (statement_prepared ran before: nothing synchronous in a pipeline). */
static bool send_statement(PGconn *connection, struct statement_cache *cache, const char *sql,
                           int count, const char *const *values)
{
    unsigned slot = cache != NULL ? statement_slot(cache, sql) : 0;
    if (cache != NULL && cache->texts[slot] != NULL) {
        char name[16];
        snprintf(name, sizeof name, "baove_%u", slot);
        return PQsendQueryPrepared(connection, name, count, values, NULL, NULL, 0) == 1;
    }
    return PQsendQueryParams(connection, sql, count, NULL, values, NULL, NULL, 0) == 1;
}

/* The next statement's result in the pipeline: its one result, then the
 * NULL that ends it.  NULL when the connection broke. */
static PGresult *pipeline_result(PGconn *connection)
{
    PGresult *result = PQgetResult(connection);
    if (result == NULL)
        return NULL;
    PGresult *extra;
    while ((extra = PQgetResult(connection)) != NULL) {
        ExecStatusType status = PQresultStatus(extra);
        PQclear(extra);
        if (status == PGRES_PIPELINE_SYNC || PQstatus(connection) != CONNECTION_OK)
            break; /* out of step: only a broken connection gets here */
    }
    return result;
}

/* The deferred commands, then sql (then, when commit is not NULL, COMMIT),
 * in one flight of messages and one Sync: one round trip.  Returns the
 * first failure among the deferred commands (the rest of the flight was
 * skipped by the server) or sql's result; with a broken connection, a
 * result saying so.  *commit is the COMMIT's result when sql succeeded and
 * the COMMIT ran (or failed on its own), NULL when it was skipped. */
static PGresult *flush_with(PGconn *connection, struct connection_state *state,
                            const char *sql, int count, const char *const *values,
                            PGresult **commit)
{
    struct deferred_command *commands = state->first;
    state->first = state->last = NULL;
    if (commit != NULL)
        *commit = NULL;
    PGresult *answer = NULL;
    unsigned slot;
    for (struct deferred_command *command = commands; command != NULL && answer == NULL;
         command = command->next)
        statement_prepared(connection, state->statements, command->sql, &slot, &answer);
    if (answer == NULL)
        statement_prepared(connection, state->statements, sql, &slot, &answer);
    if (answer == NULL && commit != NULL)
        statement_prepared(connection, state->statements, "COMMIT", &slot, &answer);
    /* Sending fails only on a broken connection (or out of memory): then
     * nothing is read, and the connection's status tells the caller. */
    int sent = 0;
    bool sending = answer == NULL && PQenterPipelineMode(connection) == 1;
    for (struct deferred_command *command = commands; sending && command != NULL;
         command = command->next)
        if ((sending = send_statement(connection, state->statements, command->sql,
                                      command->count, command->values)))
            sent++;
    if (sending && (sending = send_statement(connection, state->statements, sql, count,
                                             values)))
        sent++;
    int own = sending ? sent - 1 : -1; /* the index of sql's result, when it went */
    if (sending && commit != NULL &&
        send_statement(connection, state->statements, "COMMIT", 0, NULL))
        sent++;
    if (sent > 0 && PQpipelineSync(connection) != 1)
        sent = 0;
    for (int index = 0; index < sent; index++) {
        PGresult *result = pipeline_result(connection);
        if (result == NULL)
            break;
        if (index > own && own >= 0 && answer != NULL && db_ok(answer))
            *commit = result; /* the COMMIT after sql */
        else if (answer == NULL && (index == own || !db_ok(result)))
            answer = result; /* the first failure, or the statement's own result */
        else
            PQclear(result);
    }
    if (sent > 0)
        PQclear(PQgetResult(connection)); /* PGRES_PIPELINE_SYNC */
    if (PQpipelineStatus(connection) != PQ_PIPELINE_OFF)
        PQexitPipelineMode(connection);
    while (commands != NULL) {
        struct deferred_command *next = commands->next;
        free(commands);
        commands = next;
    }
    if (answer == NULL)
        answer = PQmakeEmptyPGresult(connection, PGRES_FATAL_ERROR);
    return answer;
}

PGresult *db_query(PGconn *connection, const char *sql, const struct db_params *params)
{
    int count = params != NULL ? params->count : 0;
    const char *const *values = params != NULL ? params->values : NULL;
    struct connection_state *state = connection_state(connection);
    if (state != NULL && state->first != NULL)
        return flush_with(connection, state, sql, count, values, NULL);
    PGresult *failure;
    unsigned slot;
    if (state == NULL ||
        !statement_prepared(connection, state->statements, sql, &slot, &failure)) {
        if (state != NULL && failure != NULL)
            return failure;
        return PQexecParams(connection, sql, count, NULL, values, NULL, NULL, 0);
    }
    char name[16];
    snprintf(name, sizeof name, "baove_%u", slot);
    return PQexecPrepared(connection, name, count, values, NULL, NULL, 0);
}

PGresult *db_query_committing(PGconn *connection, const char *sql,
                              const struct db_params *params)
{
    struct connection_state *state = connection_state(connection);
    if (state == NULL || !state->in_transaction || state->commit != NULL)
        return db_query(connection, sql, params); /* the COMMIT goes on its own */
    return flush_with(connection, state, sql, params != NULL ? params->count : 0,
                      params != NULL ? params->values : NULL, &state->commit);
}

bool db_defer(PGconn *connection, const char *sql, const struct db_params *params)
{
    struct connection_state *state = connection_state(connection);
    if (state == NULL || !state->in_transaction || state->commit != NULL)
        return false; /* nothing travels after a COMMIT that went */
    int count = params != NULL ? params->count : 0;
    size_t size = strlen(sql) + 1;
    for (int index = 0; index < count; index++)
        if (params->values[index] != NULL)
            size += strlen(params->values[index]) + 1;
    struct deferred_command *command = malloc(sizeof *command + size);
    if (command == NULL)
        return false;
    command->next = NULL;
    command->count = count;
    char *at = command->text;
    command->sql = strcpy(at, sql);
    at += strlen(sql) + 1;
    for (int index = 0; index < count; index++) {
        const char *value = params->values[index];
        command->values[index] = value != NULL ? strcpy(at, value) : NULL;
        at += value != NULL ? strlen(value) + 1 : 0;
    }
    if (state->last != NULL)
        state->last->next = command;
    else
        state->first = command;
    state->last = command;
    return true;
}

bool db_ok(const PGresult *result)
{
    ExecStatusType status = PQresultStatus(result);
    return result != NULL && (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK);
}

const char *db_sqlstate(const PGresult *result)
{
    const char *state = result != NULL ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : NULL;
    return state != NULL ? state : "";
}

bool db_connection_lost(PGconn *connection, const PGresult *result)
{
    if (connection == NULL || PQstatus(connection) != CONNECTION_OK)
        return true;
    const char *state = db_sqlstate(result);
    return strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
           strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0;
}

enum db_failure db_failure_class(PGconn *connection, const PGresult *result)
{
    if (db_connection_lost(connection, result))
        return DB_FAILURE_LOST;
    const char *state = db_sqlstate(result);
    if (strncmp(state, "22", 2) == 0)
        return DB_FAILURE_INPUT;
    if (strncmp(state, "53", 2) == 0 || strcmp(state, "57014") == 0)
        return DB_FAILURE_BUSY;
    return DB_FAILURE_INTERNAL;
}

bool db_retryable(const PGresult *result)
{
    const char *state = db_sqlstate(result);
    return strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0;
}

/* Lost connections during an outage: every request meets one, so they are
 * logged once per interval with a count (shared by every thread). */
static struct log_rate lost_connection_lines = LOG_RATE_INITIALIZER;
#define LOST_CONNECTION_LOG_INTERVAL_US (10 * 1000000LL)

void db_log_failure(const char *what, PGconn *connection, const PGresult *result)
{
    unsigned suppressed = 0;
    if (db_connection_lost(connection, result) &&
        !log_rate_allow(&lost_connection_lines, LOST_CONNECTION_LOG_INTERVAL_US, &suppressed))
        return;
    const char *message = result != NULL ? PQresultErrorMessage(result) : "";
    if (message == NULL || message[0] == '\0')
        message = connection != NULL ? PQerrorMessage(connection) : "no connection";
    char line[512];
    snprintf(line, sizeof line, "%s", message);
    line[strcspn(line, "\n")] = '\0';
    log_event(LOG_ERROR, "database_error",
              json_pack("{s:s, s:s, s:s, s:i}", "operation", what, "sqlstate",
                        db_sqlstate(result), "error", line, "similar_not_logged",
                        (int)suppressed));
}

bool db_command(PGconn *connection, const char *sql, const struct db_params *params)
{
    PGresult *result = db_query(connection, sql, params);
    bool ok = db_ok(result);
    if (!ok)
        db_log_failure("command", connection, result);
    PQclear(result);
    return ok;
}

const char *db_text(const PGresult *result, int row, int column)
{
    return PQgetisnull(result, row, column) ? NULL : PQgetvalue(result, row, column);
}

long long db_integer(const PGresult *result, int row, int column)
{
    const char *text = db_text(result, row, column);
    return text != NULL ? strtoll(text, NULL, 10) : 0;
}

bool db_bool(const PGresult *result, int row, int column)
{
    const char *text = db_text(result, row, column);
    return text != NULL && text[0] == 't';
}

enum db_outcome db_transaction(PGconn *connection,
                               enum db_outcome (*body)(PGconn *connection, void *context),
                               void *context)
{
    return db_transaction_tracked(connection, body, context, NULL);
}

/* BEGIN; on a pipelining connection it waits to travel with the first
 * statement (db_defer). */
static bool transaction_begin(PGconn *connection)
{
    static const char begin[] = "BEGIN ISOLATION LEVEL READ COMMITTED";
    struct connection_state *state = connection_state(connection);
    if (state != NULL && state->pipelines) {
        deferred_clear(state); /* nothing of an earlier transaction travels on */
        state->in_transaction = true;
        if (db_defer(connection, begin, NULL))
            return true;
        state->in_transaction = false;
    }
    PGresult *begun = PQexec(connection, begin);
    bool ok = db_ok(begun);
    if (!ok)
        db_log_failure("begin", connection, begun);
    PQclear(begun);
    return ok;
}

static void transaction_end(PGconn *connection)
{
    struct connection_state *state = connection_state(connection);
    if (state != NULL) {
        deferred_clear(state);
        state->in_transaction = false;
        PQclear(state->commit);
        state->commit = NULL;
    }
}

/* ROLLBACK, unless the BEGIN never left or a COMMIT went with the last
 * statement (nothing to roll back: that statement wrote nothing the body
 * would refuse, see db_query_committing). */
static void transaction_rollback(PGconn *connection)
{
    transaction_end(connection);
    if (PQtransactionStatus(connection) != PQTRANS_IDLE)
        PQclear(PQexec(connection, "ROLLBACK"));
}

/* COMMIT, with whatever was deferred in the same round trip; or the
 * result of the COMMIT that went with the last statement. */
static PGresult *transaction_commit(PGconn *connection)
{
    struct connection_state *state = connection_state(connection);
    PGresult *committed;
    if (state != NULL && state->commit != NULL) {
        committed = state->commit;
        state->commit = NULL;
    } else if (state != NULL && state->first != NULL) {
        committed = flush_with(connection, state, "COMMIT", 0, NULL, NULL);
    } else {
        committed = PQexec(connection, "COMMIT");
    }
    transaction_end(connection);
    return committed;
}

enum db_outcome db_transaction_tracked(PGconn *connection,
                                       enum db_outcome (*body)(PGconn *connection,
                                                               void *context),
                                       void *context, bool *commit_lost)
{
    if (commit_lost != NULL)
        *commit_lost = false;
    for (int attempt = 1;; attempt++) {
        if (!transaction_begin(connection))
            return DB_FAILED;
        enum db_outcome outcome = body(connection, context);
        if (outcome != DB_COMMIT) {
            transaction_rollback(connection);
            if (outcome == DB_RETRY && attempt < DB_TRANSACTION_ATTEMPTS)
                continue;
            return outcome == DB_RETRY ? DB_FAILED : outcome;
        }
        PGresult *committed = transaction_commit(connection);
        /* A COMMIT can fail on its own: serialization failures under
         * SERIALIZABLE and deferred constraints are reported here. */
        bool ok = db_ok(committed);
        bool retry = !ok && db_retryable(committed) && attempt < DB_TRANSACTION_ATTEMPTS;
        if (!ok && !retry)
            db_log_failure("commit", connection, committed);
        if (!ok && commit_lost != NULL)
            *commit_lost = db_connection_lost(connection, committed);
        PQclear(committed);
        if (!ok && PQtransactionStatus(connection) == PQTRANS_INERROR)
            /* A deferred command failed: the COMMIT never ran. */
            PQclear(PQexec(connection, "ROLLBACK"));
        if (ok)
            return DB_COMMIT;
        if (!retry)
            return DB_FAILED;
    }
}
