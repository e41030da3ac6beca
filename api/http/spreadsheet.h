/* Answers as spreadsheets for district staff: .xlsx workbooks written with
 * libxlsxwriter (real number and date cells, VND formatting, frozen
 * headers, charts), and the CSV options (Vietnamese headers, ';'). */
#ifndef BAOVE_HTTP_SPREADSHEET_H
#define BAOVE_HTTP_SPREADSHEET_H

#include <stdbool.h>
#include <xlsxwriter.h>

#include "http/server.h"

#define SPREADSHEET_XLSX_TYPE "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

/* Whether the client asked for .xlsx: ?format=xlsx, or an Accept header
 * naming the xlsx media type (without q=0). */
bool request_wants_xlsx(const struct request *request);

/* The CSV delimiter asked for: ';' with ?delimiter=semicolon (or ";"),
 * else ','. */
char request_csv_delimiter(const struct request *request);

/* Whether headers and labels should be Vietnamese (Accept-Language). */
bool request_wants_vietnamese(const struct request *request);

/* A workbook being written: libxlsxwriter writes a file, so it goes to a
 * private temporary file that reply_workbook reads back and removes. */
struct workbook_file {
    lxw_workbook *workbook;
    char path[64];
};

/* Opens a new workbook; false (nothing to clean up) when it cannot. */
bool workbook_open(struct workbook_file *file);

/* The formats every sheet uses, added to the workbook once. */
struct workbook_formats {
    lxw_format *header; /* bold, shaded, wrapped */
    lxw_format *date;   /* dd/mm/yyyy */
    lxw_format *vnd;    /* #,##0 "₫" */
    lxw_format *number; /* #,##0 */
    lxw_format *rate;   /* 0.0 "‰" for per-mille figures */
};
void workbook_formats(lxw_workbook *workbook, struct workbook_formats *formats);

/* workbook_open and workbook_formats; false after answering 500. */
bool workbook_begin(struct request *request, struct workbook_file *file,
                    struct workbook_formats *formats);

/* Writes an ISO date ("2020-05-13", or an RFC 3339 instant's date part) as a
 * date cell; nothing for NULL. */
void sheet_write_date(lxw_worksheet *sheet, lxw_row_t row, lxw_col_t column, const char *iso,
                      lxw_format *format);

/* A header row at row 0 (frozen, filtered) with column widths. */
void sheet_header(lxw_worksheet *sheet, const char *const titles[], const double widths[],
                  int count, lxw_format *format);

/* Closes the workbook, answers 200 with it as an attachment named filename,
 * and removes the file; 500 when writing failed. */
void reply_workbook(struct request *request, struct workbook_file *file, const char *filename);

#endif
