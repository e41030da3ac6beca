/* Route handlers of the reference data: administrative units and the
 * registry's reference lists.  Not personal data: reads are not scoped to
 * the caller's units nor audited. */
#ifndef BAOVE_REFERENCE_H
#define BAOVE_REFERENCE_H

#include "http/server.h"

/* units.c */
void handle_units_list(struct request *request);
void handle_unit_get(struct request *request);

/* calendar.c */
void handle_calendar_get(struct request *request);
void handle_calendar_put(struct request *request);

/* reference.c */
void handle_reference(struct request *request);

#endif
