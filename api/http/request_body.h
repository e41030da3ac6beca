/* The request's JSON body, parsed for a handler. */
#ifndef BAOVE_REQUEST_BODY_H
#define BAOVE_REQUEST_BODY_H

#include <jansson.h>

struct request;

/* Parses the body as a JSON object, answering 400/415 itself when it is not
 * one; NULL then.  The caller owns the result. */
json_t *request_json_body(struct request *request);

#endif
