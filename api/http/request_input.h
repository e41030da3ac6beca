/* The central check of everything a request carries outside its body. */
#ifndef BAOVE_REQUEST_INPUT_H
#define BAOVE_REQUEST_INPUT_H

#include <jansson.h>

struct request;

/* Longest accepted path, query parameter name and value, header value. */
#define INPUT_MAX_PATH 2048
#define INPUT_MAX_QUERY_NAME 64
#define INPUT_MAX_QUERY_VALUE 1024
#define INPUT_MAX_HEADER_VALUE 8192

/* Checks the path, its route parameters, every query parameter and every
 * header value (common/input.h): NULL when all are acceptable, otherwise
 * the errors naming each one that is wrong (owned by the caller, who
 * answers 400 /problems/invalid-parameter with them), so that no handler
 * ever reads text PostgreSQL, a log line or a header would refuse. */
json_t *request_input_errors(struct request *request, const char *path);

#endif
