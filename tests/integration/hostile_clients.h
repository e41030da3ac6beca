/* Raw sockets for tests of hostile clients: connections from a chosen
 * loopback source address (127.x.y.z), which libcurl cannot give per
 * request, and slow clients that send a byte at a time. */
#ifndef BAOVE_TEST_HOSTILE_CLIENTS_H
#define BAOVE_TEST_HOSTILE_CLIENTS_H

#include <stdbool.h>
#include <stddef.h>

/* Raises this process's descriptor limit to its maximum. */
void hostile_raise_descriptor_limit(void);

/* A connected socket from source (e.g. "127.0.0.2") to 127.0.0.1:port, or
 * -1.  Blocking. */
int hostile_connect(int port, const char *source);

/* Sends request (a whole HTTP/1.1 request with Connection: close) from
 * source and reads the answer into response (NUL-terminated, cut to size);
 * returns the status, or -1. */
long hostile_exchange(int port, const char *source, const char *request, char *response,
                      size_t size);

/* Whether the server closed the socket (EOF or reset), without waiting. */
bool hostile_closed_by_server(int socket);

/* The number of threads of a process (/proc/<pid>/status), or -1. */
long hostile_thread_count(int pid);

/* The resident set size of a process in KiB, or -1. */
long hostile_rss_kib(int pid);

#endif
