/* Streaming hot standbys of the test cluster for tests (scripts/pg.sh
 * standby: pg_basebackup -R -X stream), and the harness's read-replica mode.
 *
 * Read-replica mode (BAOVE_TEST_READ_REPLICA=1): a test
 * program's API reads from a real streaming hot standby of the test cluster
 * (scripts/pg.sh standby, built with the program's first database), and the
 * harness behaves as one careful client would: it sends back on every
 * request the latest Baove-Consistent-After it received, or the primary's
 * position after the program's own baove-admin runs, so that every read
 * shows every earlier write.  The API must have served reads from the
 * standby by the time it stops (harness_stop fails otherwise). */
#ifndef BAOVE_TEST_STANDBY_H
#define BAOVE_TEST_STANDBY_H

#include <stdbool.h>
#include <stddef.h>

struct test_database;
struct test_process;

struct test_standby {
    char directory[1024];
    char port[16];
};

/* Builds and starts a standby of the test cluster in <BAOVE_PG_DIR>-<suffix>
 * on BAOVE_TEST_STANDBY_PORT or a free port (a few attempts: a free port can
 * be taken in between). */
bool standby_build(struct test_standby *standby, const char *suffix);

/* pg.sh of the standby: action (url, admin-url, stop, promote, destroy…)
 * with its argument or NULL; the first line of output into out. */
bool standby_ctl(const struct test_standby *standby, const char *action, const char *argument,
                 char *out, size_t size);

/* The URL of the standby's superuser (trusted on its socket) for
 * database_name, which may pause and resume replay. */
bool standby_superuser_url(const struct test_standby *standby, const char *database_name,
                           char *out, size_t size);

bool read_replica_enabled(void);

/* Builds the standby (once) and fills database->read_url; remembers the
 * primary's position now. */
bool read_replica_attach(struct test_database *database);

/* Remembers a position (from a response header), keeping the latest. */
void read_replica_note(const char *position);

/* "Baove-Consistent-After: <latest>" into out, or "" before any. */
void read_replica_header(char *out, size_t size);

/* Whether the API has served reads from the standby (its /metrics). */
bool read_replica_served(const struct test_process *api);

/* In read-replica mode, pauses or resumes the standby's replay (a standby
 * that lags as far as a test needs); true when done, and outside that mode. */
bool read_replica_replay(const struct test_database *database, bool paused);

/* Destroys the standby. */
void read_replica_finish(void);

#endif
