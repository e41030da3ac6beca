/* The fund's public statement (công khai thu–chi) as an .xlsx workbook
 * (disclosure_sheet.c). */
#ifndef BAOVE_FUND_DISCLOSURE_SHEET_H
#define BAOVE_FUND_DISCLOSURE_SHEET_H

#include <jansson.h>

#include "http/server.h"

/* How a payment came in, as the statement says it. */
const char *fund_method_label(const char *method);

/* Answers with the workbook: the statement (GET /v1/fund/disclosure's
 * document) on one sheet, each unit's target and what it raised
 * ([{unit, unit_name, target_vnd, raised_vnd}]) with a chart on another. */
void fund_disclosure_xlsx(struct request *request, const json_t *statement,
                          const json_t *books, const char *filename);

#endif
