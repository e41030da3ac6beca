/* Spreadsheets (spreadsheet.h). */
#include "http/spreadsheet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "problem.h"

bool request_wants_xlsx(const struct request *request)
{
    const char *format = request_query(request, "format");
    if (format != NULL)
        return strcmp(format, "xlsx") == 0;
    const char *accept = request_header(request, "Accept");
    const char *named = accept != NULL ? strstr(accept, SPREADSHEET_XLSX_TYPE) : NULL;
    if (named == NULL)
        return false;
    const char *parameters = named + strlen(SPREADSHEET_XLSX_TYPE);
    const char *q = strstr(parameters, ";q=");
    return q == NULL || q >= parameters + strcspn(parameters, ",") || strtod(q + 3, NULL) > 0;
}

char request_csv_delimiter(const struct request *request)
{
    const char *delimiter = request_query(request, "delimiter");
    return delimiter != NULL && (strcmp(delimiter, "semicolon") == 0 ||
                                 strcmp(delimiter, ";") == 0)
               ? ';'
               : ',';
}

bool request_wants_vietnamese(const struct request *request)
{
    return problem_language(request_header(request, "Accept-Language")) == PROBLEM_VIETNAMESE;
}

bool workbook_open(struct workbook_file *file)
{
    snprintf(file->path, sizeof file->path, "/tmp/baove-xlsx-XXXXXX");
    int descriptor = mkstemp(file->path);
    if (descriptor < 0)
        return false;
    close(descriptor);
    lxw_workbook_options options = {.constant_memory = LXW_FALSE, .tmpdir = "/tmp"};
    file->workbook = workbook_new_opt(file->path, &options);
    if (file->workbook == NULL) {
        unlink(file->path);
        return false;
    }
    return true;
}

void workbook_formats(lxw_workbook *workbook, struct workbook_formats *formats)
{
    formats->header = workbook_add_format(workbook);
    format_set_bold(formats->header);
    format_set_bg_color(formats->header, 0xDDEBF7);
    format_set_text_wrap(formats->header);
    format_set_align(formats->header, LXW_ALIGN_VERTICAL_TOP);
    formats->date = workbook_add_format(workbook);
    format_set_num_format(formats->date, "dd/mm/yyyy");
    formats->vnd = workbook_add_format(workbook);
    format_set_num_format(formats->vnd, "#,##0 \"₫\"");
    formats->number = workbook_add_format(workbook);
    format_set_num_format(formats->number, "#,##0");
    formats->rate = workbook_add_format(workbook);
    format_set_num_format(formats->rate, "0.0\" ‰\"");
}

bool workbook_begin(struct request *request, struct workbook_file *file,
                    struct workbook_formats *formats)
{
    if (!workbook_open(file)) {
        reply_problem(request, PROBLEM_INTERNAL, "The workbook could not be written.");
        return false;
    }
    workbook_formats(file->workbook, formats);
    return true;
}

void sheet_write_date(lxw_worksheet *sheet, lxw_row_t row, lxw_col_t column, const char *iso,
                      lxw_format *format)
{
    int year, month, day;
    if (iso == NULL || sscanf(iso, "%4d-%2d-%2d", &year, &month, &day) != 3)
        return;
    lxw_datetime date = {.year = year, .month = month, .day = day};
    worksheet_write_datetime(sheet, row, column, &date, format);
}

void sheet_header(lxw_worksheet *sheet, const char *const titles[], const double widths[],
                  int count, lxw_format *format)
{
    for (int column = 0; column < count; column++) {
        worksheet_write_string(sheet, 0, (lxw_col_t)column, titles[column], format);
        worksheet_set_column(sheet, (lxw_col_t)column, (lxw_col_t)column, widths[column], NULL);
    }
    worksheet_freeze_panes(sheet, 1, 0);
}

void reply_workbook(struct request *request, struct workbook_file *file, const char *filename)
{
    lxw_error closed = workbook_close(file->workbook);
    file->workbook = NULL;
    FILE *stream = closed == LXW_NO_ERROR ? fopen(file->path, "rb") : NULL;
    char *bytes = NULL;
    long length = -1;
    if (stream != NULL && fseek(stream, 0, SEEK_END) == 0 && (length = ftell(stream)) > 0 &&
        fseek(stream, 0, SEEK_SET) == 0 && (bytes = malloc((size_t)length)) != NULL &&
        fread(bytes, 1, (size_t)length, stream) != (size_t)length) {
        free(bytes);
        bytes = NULL;
    }
    if (stream != NULL)
        fclose(stream);
    unlink(file->path);
    if (bytes == NULL) {
        reply_problem(request, PROBLEM_INTERNAL, "The workbook could not be written.");
        return;
    }
    char disposition[160];
    snprintf(disposition, sizeof disposition, "attachment; filename=\"%s\"", filename);
    reply_add_header(request, "Content-Disposition", disposition);
    reply_text(request, 200, SPREADSHEET_XLSX_TYPE, bytes, (size_t)length);
}
