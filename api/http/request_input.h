/* The central check of everything a request carries outside its body. */
#ifndef BAOVE_REQUEST_INPUT_H
#define BAOVE_REQUEST_INPUT_H

#include <stdbool.h>

struct request;

/* Longest accepted path, query parameter name and value, header value. */
#define INPUT_MAX_PATH 2048
#define INPUT_MAX_QUERY_NAME 64
#define INPUT_MAX_QUERY_VALUE 1024
#define INPUT_MAX_HEADER_VALUE 8192

/* Checks the path, its route parameters, every query parameter and every
 * header value (common/input.h).  False after answering 400
 * /problems/invalid-parameter naming each one that is wrong, so that no
 * handler ever reads text PostgreSQL, a log line or a header would refuse. */
bool request_input_acceptable(struct request *request, const char *path);

#endif
