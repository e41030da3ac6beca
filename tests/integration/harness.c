#include "harness.h"
#include "standby.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <libpq-fe.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The test program's recording file, opened by harness_init(). */
static FILE *contract_file;

/* Every process spawned, so that one left running by a failed assertion
 * (which skips harness_stop) is killed when the program finishes. */
#define MAX_SPAWNED 64
static pid_t spawned[MAX_SPAWNED];
static size_t spawned_count;
static char program_name[64];

const char *harness_env(const char *name)
{
    const char *value = getenv(name);
    if (value == NULL || value[0] == '\0') {
        fprintf(stderr, "harness: %s is not set; run the tests through `make test`\n", name);
        exit(1);
    }
    return value;
}

/* The PgBouncer of this test program when it runs the API through one. */
static struct test_process pooler;

static const char *pooler_port(void)
{
    const char *port = getenv("BAOVE_TEST_PGBOUNCER_PORT");
    return port != NULL && port[0] != '\0' ? port : NULL;
}

/* The key the program's API and workers seal webhook secrets with
 * (BAOVE_SECRETS_KEY_FILE, common/webhook.h), as `make run` gives them
 * one: a new one per program, written by harness_init. */
static char secrets_key_path[1024];

static bool make_secrets_key(void)
{
    snprintf(secrets_key_path, sizeof secrets_key_path, "%s/%s.secrets.key",
             harness_env("BAOVE_CONTRACT_DIR"), program_name);
    unsigned char key[32];
    FILE *random = fopen("/dev/urandom", "re");
    bool read = random != NULL && fread(key, 1, sizeof key, random) == sizeof key;
    if (random != NULL)
        fclose(random);
    int descriptor = read ? open(secrets_key_path, O_WRONLY | O_CREAT | O_TRUNC, 0600) : -1;
    FILE *file = descriptor >= 0 ? fdopen(descriptor, "w") : NULL;
    if (file == NULL)
        return false;
    for (size_t i = 0; i < sizeof key; i++)
        fprintf(file, "%02x", key[i]);
    fputc('\n', file);
    return fclose(file) == 0;
}

const char *harness_secrets_key_file(void)
{
    return secrets_key_path;
}

void harness_init(const char *name)
{
    snprintf(program_name, sizeof program_name, "%s%s", name,
             pooler_port() != NULL       ? "_pgbouncer"
             : read_replica_enabled()   ? "_replica"
                                        : "");
    name = program_name;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.jsonl", harness_env("BAOVE_CONTRACT_DIR"), name);
    contract_file = fopen(path, "we");
    if (contract_file == NULL) {
        fprintf(stderr, "harness: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
    if (!make_secrets_key()) {
        fprintf(stderr, "harness: cannot write %s: %s\n", secrets_key_path, strerror(errno));
        exit(1);
    }
}

/* Forgets a process that has been waited for (its pid may be reused). */
static void forget(pid_t pid)
{
    for (size_t i = 0; i < spawned_count; i++)
        if (spawned[i] == pid)
            spawned[i] = 0;
}

void harness_finish(void)
{
    for (size_t i = 0; i < spawned_count; i++)
        if (spawned[i] > 0 && kill(spawned[i], SIGKILL) == 0)
            waitpid(spawned[i], NULL, 0);
    pooler.pid = 0; /* killed above with the other children */
    read_replica_finish();
    if (contract_file != NULL)
        fclose(contract_file);
    contract_file = NULL;
    curl_global_cleanup();
}

static void sleep_ms(int milliseconds)
{
    struct timespec pause = {milliseconds / 1000, (long)(milliseconds % 1000) * 1000000L};
    nanosleep(&pause, NULL);
}

/* ---- child processes --------------------------------------------------- */

/* Reads everything from a descriptor; the caller frees. */
static char *read_all(int descriptor)
{
    size_t capacity = 4096, length = 0;
    char *text = malloc(capacity);
    ssize_t got;
    while (text != NULL && (got = read(descriptor, text + length, capacity - length - 1)) > 0) {
        length += (size_t)got;
        if (capacity - length - 1 == 0) {
            char *grown = realloc(text, capacity * 2);
            if (grown == NULL) {
                free(text);
                return NULL;
            }
            text = grown;
            capacity *= 2;
        }
    }
    if (text != NULL)
        text[length] = '\0';
    return text;
}

static void apply_env(const char *const env[])
{
    for (size_t i = 0; env != NULL && env[i] != NULL; i++) {
        char *copy = strdup(env[i]);
        char *equals = strchr(copy, '=');
        if (equals != NULL) {
            *equals = '\0';
            setenv(copy, equals + 1, 1);
        }
        free(copy);
    }
}

int harness_run(const char *const argv[], const char *const env[], const char *stdin_text,
                char **stdout_text)
{
    int input[2], output[2];
    if (pipe(input) != 0 || pipe(output) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(input[0], STDIN_FILENO);
        dup2(output[1], STDOUT_FILENO);
        /* Nothing else of ours may leak into the child: a server that
         * pg.sh starts would keep our pipes open (and reads would never
         * end) or hold our files. */
        closefrom(STDERR_FILENO + 1);
        /* A session of its own: no terminal signals reach programs that a
         * test starts (pg_ctl, runuser) when tests run from a terminal. */
        setsid();
        apply_env(env);
        execv(argv[0], (char *const *)argv);
        fprintf(stderr, "harness: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(input[0]);
    close(output[1]);
    if (stdin_text != NULL && write(input[1], stdin_text, strlen(stdin_text)) < 0)
        fprintf(stderr, "harness: cannot feed %s\n", argv[0]);
    close(input[1]);
    char *printed = read_all(output[0]);
    close(output[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (stdout_text != NULL)
        *stdout_text = printed;
    else
        free(printed);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool harness_pg_ctl(const char *const env[], const char *action, const char *argument,
                    char *out, size_t size)
{
    const char *argv[] = {"/bin/bash", harness_env("BAOVE_TEST_PG_CTL"), action, argument, NULL};
    char *printed = NULL;
    int status = harness_run(argv, env, NULL, &printed);
    if (out != NULL && printed != NULL) {
        snprintf(out, size, "%s", printed);
        out[strcspn(out, "\n")] = '\0';
    }
    free(printed);
    return status == 0;
}

/* pg.sh of the test cluster. */
static bool pg_ctl(const char *action, const char *name, char *out, size_t size)
{
    return harness_pg_ctl(NULL, action, name, out, size);
}

const char harness_test_job_functions[] =
    "CREATE TABLE test_effects (tag text NOT NULL, at timestamptz NOT NULL);"
    "GRANT INSERT, SELECT ON test_effects TO baove_app;"
    /* Sleeps payload.seconds, then records its effect (payload.tag). */
    "CREATE FUNCTION test_sleep(payload jsonb, now timestamptz) RETURNS jsonb "
    "LANGUAGE plpgsql AS $$ BEGIN "
    "  PERFORM pg_sleep(coalesce((payload->>'seconds')::float8, 0)); "
    "  INSERT INTO test_effects VALUES (coalesce(payload->>'tag', ''), now); "
    "  RETURN jsonb_build_object('slept', payload->'seconds', 'now', now); END $$;"
    "CREATE FUNCTION test_fail(payload jsonb, now timestamptz) RETURNS jsonb "
    "LANGUAGE plpgsql AS $$ BEGIN "
    "  INSERT INTO test_effects VALUES ('failing', now); "
    "  RAISE EXCEPTION 'deliberate failure: %', payload->>'why'; END $$;";

char *harness_sql(const char *url, const char *query)
{
    PGconn *connection = PQconnectdb(url);
    PGresult *result = PQexec(connection, query);
    ExecStatusType status = PQresultStatus(result);
    char *value = (status == PGRES_TUPLES_OK && PQntuples(result) > 0 &&
                   !PQgetisnull(result, 0, 0))
                      ? strdup(PQgetvalue(result, 0, 0))
                  : status == PGRES_COMMAND_OK ? strdup("") : NULL;
    if (value == NULL)
        fprintf(stderr, "SQL failed: %s", PQerrorMessage(connection));
    PQclear(result);
    PQfinish(connection);
    return value;
}

bool harness_cluster(const char *action)
{
    return pg_ctl(action, NULL, NULL, 0);
}

int harness_admin(const struct test_database *database, const char *const args[],
                  const char *stdin_text, char **stdout_text)
{
    const char *argv[16] = {harness_env("BAOVE_ADMIN_BIN")};
    size_t count = 1;
    for (size_t i = 0; args[i] != NULL && count < 15; i++)
        argv[count++] = args[i];
    argv[count] = NULL;
    char url[600], clock[64], key[1100];
    snprintf(url, sizeof url, "BAOVE_ADMIN_DATABASE_URL=%s", database->admin_url);
    snprintf(clock, sizeof clock, "BAOVE_NOW=%s", database->now);
    snprintf(key, sizeof key, "BAOVE_SECRETS_KEY_FILE=%s", secrets_key_path);
    const char *env[] = {url, key, database->now[0] != '\0' ? clock : NULL, NULL};
    return harness_run(argv, env, stdin_text, stdout_text);
}

static bool spawn(const char *binary, const char *database_url,
                  const char *const extra_env[], const char *const args[],
                  struct test_process *process);

/* True when the server that answers url is not the PostgreSQL session behind
 * it: the proof that connections really go through the pooler. */
static bool answered_by_pooler(const char *url)
{
    PGconn *connection = PQconnectdb(url);
    PGresult *result = PQstatus(connection) == CONNECTION_OK
                           ? PQexec(connection, "SELECT pg_backend_pid()")
                           : NULL;
    bool pooled = PQresultStatus(result) == PGRES_TUPLES_OK &&
                  atoi(PQgetvalue(result, 0, 0)) != PQbackendPID(connection);
    PQclear(result);
    PQfinish(connection);
    return pooled;
}

/* Points the API of this database at PgBouncer, starting it first. */
static bool through_pooler(struct test_database *database)
{
    snprintf(database->api_url, sizeof database->api_url,
             "postgresql://baove_app@127.0.0.1:%s/%s", pooler_port(), database->name);
    if (pooler.pid == 0) {
        char script[1024], directory[1024];
        snprintf(script, sizeof script, "%s/pgbouncer.sh", harness_env("BAOVE_TEST_SCRIPTS"));
        snprintf(directory, sizeof directory, "%s/pgbouncer-%s",
                 harness_env("BAOVE_CONTRACT_DIR"), pooler_port());
        const char *args[] = {script, pooler_port(), directory, NULL};
        if (!spawn("/bin/bash", database->app_url, NULL, args, &pooler))
            return false;
    }
    for (int attempt = 0; attempt < 200; attempt++) {
        if (answered_by_pooler(database->api_url))
            return true;
        sleep_ms(50);
    }
    fprintf(stderr, "harness: PgBouncer does not answer on port %s; see %s\n", pooler_port(),
            pooler.log_path);
    return false;
}

char *harness_query_text(const struct test_database *database, const char *sql)
{
    PGconn *connection = PQconnectdb(database->admin_url);
    PGresult *result = PQexec(connection, sql);
    char *text = NULL;
    if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) > 0)
        text = strdup(PQgetvalue(result, 0, 0));
    else
        fprintf(stderr, "harness: %s: %s%s", sql, PQerrorMessage(connection),
                PQresultErrorMessage(result));
    PQclear(result);
    PQfinish(connection);
    return text;
}

int harness_lock_waiters(const struct test_database *database)
{
    char *count = harness_query_text(
        database, "SELECT count(DISTINCT l.pid) FROM pg_locks l JOIN pg_stat_activity a "
                  "ON a.pid = l.pid WHERE NOT l.granted AND a.datname = current_database()");
    int waiters = count != NULL ? atoi(count) : -1;
    free(count);
    return waiters;
}

int harness_race(const struct test_database *database, const char *lock_sql, int count,
                 void *(*body)(void *), void *arguments, size_t argument_size)
{
    enum { MOST = 8 };
    if (count < 1 || count > MOST)
        return -1;
    PGconn *holder = PQconnectdb(database->admin_url);
    char sql[512];
    snprintf(sql, sizeof sql, "BEGIN; %s", lock_sql);
    PGresult *locked = PQstatus(holder) == CONNECTION_OK ? PQexec(holder, sql) : NULL;
    bool holding = PQresultStatus(locked) == PGRES_TUPLES_OK;
    PQclear(locked);
    pthread_t threads[MOST];
    int started = 0, waiters = 0;
    for (; holding && started < count; started++) {
        if (pthread_create(&threads[started], NULL, body,
                           (char *)arguments + (size_t)started * argument_size) != 0)
            break;
        for (int tries = 0; (waiters = harness_lock_waiters(database)) < started + 1 &&
                            tries < 3000;
             tries++)
            sleep_ms(10);
    }
    PQclear(PQexec(holder, "COMMIT"));
    PQfinish(holder);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    return holding ? waiters : -1;
}

char *harness_superuser_text(const struct test_database *database, const char *sql)
{
    const char *argv[] = {"/bin/bash", harness_env("BAOVE_TEST_PG_CTL"), "psql", database->name,
                          "-tAqc", sql, NULL};
    char *out = NULL;
    if (harness_run(argv, NULL, NULL, &out) != 0 || out == NULL) {
        free(out);
        return NULL;
    }
    out[strcspn(out, "\n")] = '\0';
    return out;
}

bool harness_track_statements(const struct test_database *database)
{
    char *created =
        harness_superuser_text(database, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    bool loaded = created != NULL;
    free(created);
    return loaded;
}

long long harness_statement_calls(const struct test_database *database, const char *pattern)
{
    /* pattern is the test's own constant, never input: spliced as a literal. */
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements "
             " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
             "   AND toplevel AND query LIKE '%s'",
             pattern);
    char *calls = harness_superuser_text(database, sql);
    long long count = calls != NULL ? atoll(calls) : -1;
    free(calls);
    return count;
}

bool harness_query_equals(const struct test_database *database, const char *sql,
                          const char *expected)
{
    char *text = harness_query_text(database, sql);
    bool equal = text != NULL && strcmp(text, expected) == 0;
    if (!equal)
        fprintf(stderr, "harness: %s\n  gave     %s\n  expected %s\n", sql,
                text != NULL ? text : "(nothing)", expected);
    free(text);
    return equal;
}

bool harness_create_database(const char *name, bool migrate, bool seed,
                             struct test_database *database)
{
    return harness_create_database_on(name, migrate, seed, NULL, database);
}

bool harness_create_database_on(const char *name, bool migrate, bool seed, const char *now,
                                struct test_database *database)
{
    memset(database, 0, sizeof *database);
    snprintf(database->name, sizeof database->name, "%s", name);
    if (now != NULL)
        snprintf(database->now, sizeof database->now, "%s", now);
    if (!pg_ctl("recreatedb", name, NULL, 0) ||
        !pg_ctl("url", name, database->app_url, sizeof database->app_url) ||
        !pg_ctl("admin-url", name, database->admin_url, sizeof database->admin_url)) {
        fprintf(stderr, "harness: cannot create database %s\n", name);
        return false;
    }
    snprintf(database->api_url, sizeof database->api_url, "%s", database->app_url);
    if (pooler_port() != NULL && !through_pooler(database))
        return false;
    if (migrate && harness_admin(database, (const char *const[]){"migrate", NULL}, NULL,
                                 NULL) != 0)
        return false;
    if (seed && harness_admin(database, (const char *const[]){"seed", "--demo", "--users-only",
                                                      NULL},
                              NULL, NULL) != 0)
        return false;
    return !read_replica_enabled() || read_replica_attach(database);
}

int harness_free_port(void)
{
    int descriptor = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    int port = -1;
    if (bind(descriptor, (struct sockaddr *)&address, sizeof address) == 0 &&
        getsockname(descriptor, (struct sockaddr *)&address, &length) == 0)
        port = ntohs(address.sin_port);
    close(descriptor);
    return port;
}

static bool spawn(const char *binary, const char *database_url,
                  const char *const extra_env[], const char *const args[],
                  struct test_process *process)
{
    static int sequence;
    snprintf(process->log_path, sizeof process->log_path, "%s/%s-%d-%d.log",
             harness_env("BAOVE_CONTRACT_DIR"), program_name, (int)getpid(), ++sequence);
    const char *argv[12] = {binary};
    size_t count = 1;
    for (size_t i = 0; args != NULL && args[i] != NULL && count < 11; i++)
        argv[count++] = args[i];
    argv[count] = NULL;
    process->pid = fork();
    if (process->pid < 0)
        return false;
    if (process->pid == 0) {
        int log = open(process->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        /* Nothing of the child may hold the test's own output open: ctest
         * waits for it to close before it reports the test. */
        dup2(log, STDOUT_FILENO);
        dup2(log, STDERR_FILENO);
        closefrom(STDERR_FILENO + 1);
        setsid();
        char port[16];
        snprintf(port, sizeof port, "%d", process->port);
        setenv("DATABASE_URL", database_url, 1);
        setenv("BAOVE_HTTP_PORT", port, 1);
        setenv("BAOVE_HTTP_ADDR", "127.0.0.1", 1);
        setenv("BAOVE_DB_CONNECTIONS", "4", 1);
        setenv("BAOVE_SECRETS_KEY_FILE", secrets_key_path, 1);
        apply_env(extra_env);
        execv(binary, (char *const *)argv);
        _exit(127);
    }
    if (spawned_count < MAX_SPAWNED)
        spawned[spawned_count++] = process->pid;
    return true;
}

bool harness_start_api(const struct test_database *database, const char *const extra_env[],
                       struct test_process *api)
{
    memset(api, 0, sizeof *api);
    api->port = harness_free_port();
    /* The standby's URL after the caller's settings. */
    const char *env[40] = {NULL};
    size_t count = 0;
    for (size_t i = 0; extra_env != NULL && extra_env[i] != NULL && count < 38; i++)
        env[count++] = extra_env[i];
    char read_url[600];
    snprintf(read_url, sizeof read_url, "BAOVE_READ_DATABASE_URL=%s", database->read_url);
    if (database->read_url[0] != '\0')
        env[count++] = read_url;
    if (api->port <= 0 || !spawn(harness_env("BAOVE_API_BIN"), database->api_url, env, NULL, api))
        return false;
    CURL *curl = curl_easy_init();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", api->port);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 2L);
    bool up = false;
    for (int attempt = 0; attempt < 300 && !up; attempt++) {
        long status = 0;
        if (curl_easy_perform(curl) == CURLE_OK &&
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK)
            up = status == 200;
        int child_status;
        if (!up && waitpid(api->pid, &child_status, WNOHANG) == api->pid) {
            fprintf(stderr, "harness: baove-api exited early; see %s\n", api->log_path);
            forget(api->pid);
            api->pid = 0;
            break;
        }
        if (!up)
            sleep_ms(50);
    }
    curl_easy_cleanup(curl);
    return up;
}

bool harness_start_worker(const struct test_database *database,
                          const char *const extra_env[], const char *const args[],
                          struct test_process *worker)
{
    memset(worker, 0, sizeof *worker);
    return spawn(harness_env("BAOVE_WORKER_BIN"), database->app_url, extra_env, args, worker);
}

int harness_stop(struct test_process *process)
{
    if (process->pid <= 0)
        return -1;
    /* An API that read nothing from its standby did not test it. */
    bool unproven = process->port > 0 && read_replica_enabled() && !read_replica_served(process);
    forget(process->pid);
    kill(process->pid, SIGTERM);
    int status = 0;
    for (int waited = 0; waited < 3000; waited++) {
        pid_t done = waitpid(process->pid, &status, WNOHANG);
        if (done == process->pid) {
            process->pid = 0;
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fprintf(stderr, "harness: process ended with status %d; see %s\n", status,
                        process->log_path);
            return unproven ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        sleep_ms(10);
    }
    kill(process->pid, SIGKILL);
    waitpid(process->pid, &status, 0);
    process->pid = 0;
    return -1;
}

int harness_wait_exit(struct test_process *process, int seconds)
{
    if (process->pid <= 0)
        return -1;
    int status = 0;
    for (int waited = 0; waited < seconds * 100; waited++) {
        if (waitpid(process->pid, &status, WNOHANG) == process->pid) {
            forget(process->pid);
            process->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        sleep_ms(10);
    }
    harness_stop(process); /* it did not end in time */
    return -1;
}

static int count_occurrences(const char *path, const char *text)
{
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return 0;
    int count = 0;
    char line[8192];
    while (fgets(line, sizeof line, file) != NULL)
        if (strstr(line, text) != NULL)
            count++;
    fclose(file);
    return count;
}

bool harness_wait_for_log(const struct test_process *process, const char *text,
                          int occurrences, int seconds)
{
    for (int waited = 0; waited < seconds * 20; waited++) {
        if (count_occurrences(process->log_path, text) >= occurrences)
            return true;
        sleep_ms(50);
    }
    fprintf(stderr, "harness: \"%s\" did not appear %d time(s) in %s\n", text, occurrences,
            process->log_path);
    return false;
}

/* ---- HTTP ------------------------------------------------------------- */

struct buffer {
    char *data;
    size_t length;
};

static size_t collect(char *data, size_t size, size_t count, void *closure)
{
    struct buffer *buffer = closure;
    size_t bytes = size * count;
    char *grown = realloc(buffer->data, buffer->length + bytes + 1);
    if (grown == NULL)
        return 0;
    buffer->data = grown;
    memcpy(buffer->data + buffer->length, data, bytes);
    buffer->length += bytes;
    buffer->data[buffer->length] = '\0';
    return bytes;
}

/* Keeps only the last header block (after a 100 Continue, say). */
static size_t collect_header(char *data, size_t size, size_t count, void *closure)
{
    struct buffer *buffer = closure;
    if (size * count > 5 && strncmp(data, "HTTP/", 5) == 0)
        buffer->length = 0;
    return collect(data, size, count, closure);
}

struct upload {
    const char *data;
    size_t remaining;
};

static size_t feed(char *out, size_t size, size_t count, void *closure)
{
    struct upload *upload = closure;
    size_t bytes = size * count;
    if (bytes > upload->remaining)
        bytes = upload->remaining;
    if (bytes > 16384)
        bytes = 16384; /* several chunks */
    memcpy(out, upload->data, bytes);
    upload->data += bytes;
    upload->remaining -= bytes;
    return bytes;
}

const char *http_header(const struct http_response *response, const char *name)
{
    static _Thread_local char value[1024]; /* per thread: tests run clients in threads */
    size_t name_length = strlen(name);
    for (const char *line = response->headers; line != NULL && *line != '\0';) {
        const char *end = strstr(line, "\r\n");
        size_t length = end != NULL ? (size_t)(end - line) : strlen(line);
        if (length > name_length && line[name_length] == ':' &&
            strncasecmp(line, name, name_length) == 0) {
            const char *start = line + name_length + 1;
            while (*start == ' ')
                start++;
            size_t value_length = (size_t)(line + length - start);
            if (value_length >= sizeof value)
                value_length = sizeof value - 1;
            memcpy(value, start, value_length);
            value[value_length] = '\0';
            return value;
        }
        line = end != NULL ? end + 2 : line + length;
    }
    return NULL;
}

static bool is_json_type(const char *content_type)
{
    return strncmp(content_type, "application/json", 16) == 0 ||
           strncmp(content_type, "application/problem+json", 24) == 0;
}

/* Appends one record of the exchange for tests/contract/check.mjs. */
static void record(const char *method, const char *path, const struct http_response *response)
{
    if (contract_file == NULL)
        return;
    json_t *line = json_object();
    const char *query = strchr(path, '?');
    size_t path_length = query != NULL ? (size_t)(query - path) : strlen(path);
    json_object_set_new(line, "method", json_string(method));
    json_object_set_new(line, "path", json_stringn(path, path_length));
    json_object_set_new(line, "query", json_string(query != NULL ? query + 1 : ""));
    json_object_set_new(line, "status", json_integer(response->status));
    json_object_set_new(line, "content_type", json_string(response->content_type));
    json_t *headers = json_object();
    const char *names[] = {"x-request-id", "cache-control", "allow", "retry-after",
                           "www-authenticate", "etag", "location", "idempotency-replayed",
                           "access-control-allow-origin", "access-control-allow-methods"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *value = http_header(response, names[i]);
        if (value != NULL)
            json_object_set_new(headers, names[i], json_string(value));
    }
    json_object_set_new(line, "headers", headers);
    if (response->json != NULL)
        json_object_set(line, "body", response->json);
    else {
        json_object_set_new(line, "body", json_null());
        if (response->length > 0)
            json_object_set_new(line, "body_text",
                                json_stringn_nocheck(response->body, response->length));
    }
    char *text = json_dumps(line, JSON_COMPACT);
    if (text != NULL) {
        fprintf(contract_file, "%s\n", text);
        fflush(contract_file);
    }
    free(text);
    json_decref(line);
}

struct http_response *http_call(const struct test_process *api,
                                const struct http_options *options)
{
    const char *method = options->method != NULL ? options->method : "GET";
    CURL *curl = curl_easy_init();
    char url[2048];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", api->port, options->path);
    struct curl_slist *headers = NULL;
    char line[1024];
    if (options->token != NULL) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", options->token);
        headers = curl_slist_append(headers, line);
    }
    struct upload upload = {0};
    if (options->body != NULL) {
        size_t length = options->body_length ? options->body_length : strlen(options->body);
        snprintf(line, sizeof line, "Content-Type: %s",
                 options->content_type != NULL ? options->content_type : "application/json");
        headers = curl_slist_append(headers, line);
        if (options->chunked) {
            upload.data = options->body;
            upload.remaining = length;
            headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
            curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(curl, CURLOPT_READFUNCTION, feed);
            curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
        } else {
            curl_easy_setopt(curl, CURLOPT_POSTFIELDS, options->body);
            curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)length);
        }
    }
    /* No "Expect: 100-continue" pause: send bodies straight away. */
    headers = curl_slist_append(headers, "Expect:");
    char position[96] = "";
    if (read_replica_enabled())
        read_replica_header(position, sizeof position);
    if (position[0] != '\0')
        headers = curl_slist_append(headers, position);
    for (size_t i = 0; options->headers != NULL && options->headers[i] != NULL; i++)
        headers = curl_slist_append(headers, options->headers[i]);
    struct buffer body = {0}, header_block = {0};
    curl_easy_setopt(curl, CURLOPT_URL, url);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    else
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collect_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &header_block);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
    CURLcode code = curl_easy_perform(curl);
    struct http_response *response = calloc(1, sizeof *response);
    if (code == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response->status);
    else
        fprintf(stderr, "harness: %s %s failed: %s\n", method, options->path,
                curl_easy_strerror(code));
    char *content_type = NULL;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &content_type);
    snprintf(response->content_type, sizeof response->content_type, "%s",
             content_type != NULL ? content_type : "");
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
    response->body = body.data != NULL ? body.data : strdup("");
    response->length = body.length;
    response->headers = header_block.data != NULL ? header_block.data : strdup("");
    if (is_json_type(response->content_type))
        response->json = json_loadb(response->body, response->length, 0, NULL);
    if (code == CURLE_OK)
        record(method, options->path, response);
    if (read_replica_enabled())
        read_replica_note(http_header(response, "Baove-Consistent-After"));
    return response;
}

struct http_response *http_get(const struct test_process *api, const char *path,
                               const char *token)
{
    struct http_options options = {.path = path, .token = token};
    return http_call(api, &options);
}

struct http_response *http_post_json(const struct test_process *api, const char *path,
                                     const char *token, const char *body)
{
    struct http_options options = {.method = "POST", .path = path, .token = token,
                                   .body = body};
    return http_call(api, &options);
}

void http_free(struct http_response *response)
{
    if (response == NULL)
        return;
    json_decref(response->json);
    free(response->body);
    free(response->headers);
    free(response);
}

char *harness_login(const struct test_process *api, const char *username, const char *password)
{
    char body[512];
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", username, password);
    struct http_response *response = http_post_json(api, "/v1/auth/token", NULL, body);
    const char *token = response->status == 200 ? json_text(response->json, "access_token", NULL)
                                                : NULL;
    char *copy = token != NULL ? strdup(token) : NULL;
    http_free(response);
    return copy;
}

struct http_response *harness_put_child_response(const struct test_process *api,
                                                 const char *token, const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/children/%s", id);
    struct http_options create = {
        .method = "PUT", .path = path, .token = token,
        .body = "{\"unit\":\"29980\",\"full_name\":\"Lê Văn Tâm\",\"sex\":\"male\","
                "\"date_of_birth\":\"2012-05-01\",\"registered_on\":\"2020-01-02\"}"};
    return http_call(api, &create);
}

long harness_put_child(const struct test_process *api, const char *token, const char *id)
{
    struct http_response *created = harness_put_child_response(api, token, id);
    long status = created->status;
    http_free(created);
    return status;
}

const char *json_text(const json_t *value, ...)
{
    va_list keys;
    va_start(keys, value);
    const char *key;
    while (value != NULL && (key = va_arg(keys, const char *)) != NULL)
        value = json_object_get(value, key);
    va_end(keys);
    return json_is_string(value) ? json_string_value(value) : NULL;
}

char *harness_zip_part(const struct http_response *response, const char *part)
{
    char path[] = "/tmp/baove-zip-XXXXXX";
    int descriptor = mkstemp(path);
    if (descriptor < 0)
        return NULL;
    bool written = write(descriptor, response->body, response->length) ==
                   (ssize_t)response->length;
    close(descriptor);
    char *text = NULL;
    const char *argv[] = {"/usr/bin/unzip", "-p", path, part, NULL};
    if (!written || harness_run(argv, NULL, NULL, &text) != 0 || text == NULL || text[0] == '\0') {
        free(text);
        text = NULL;
    }
    unlink(path);
    return text;
}
