/* The report summary for district staff as a spreadsheet (report_sheets.c):
 * .xlsx, or CSV with Vietnamese headers and labels when asked in Vietnamese. */
#ifndef BAOVE_REPORTING_REPORT_SHEETS_H
#define BAOVE_REPORTING_REPORT_SHEETS_H

#include <jansson.h>
#include <stdbool.h>

#include "http/server.h"

/* The summary document of GET /v1/reports/{period}/summary, with its
 * "commune_indicators" member ({code: items or null}) for the .xlsx. */
void report_summary_xlsx(struct request *request, const json_t *summary);
void report_summary_csv(struct request *request, const json_t *summary);

#endif
