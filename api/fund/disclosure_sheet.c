/* The fund's statement as a workbook (disclosure_sheet.h): what a district
 * posts publicly and files, opened in Excel with real dates and amounts in
 * đồng, and a chart of what each commune raised against its target. */
#include "fund/disclosure_sheet.h"

#include <stdio.h>
#include <string.h>

#include "http/spreadsheet.h"

const char *fund_method_label(const char *method)
{
    if (strcmp(method, "cash") == 0)
        return "Tiền mặt";
    if (strcmp(method, "bank_transfer") == 0)
        return "Chuyển khoản";
    return "Hiện vật";
}

static const char *text_of(const json_t *object, const char *name)
{
    return json_string_value(json_object_get(object, name));
}

static double amount_of(const json_t *object, const char *name)
{
    return (double)json_integer_value(json_object_get(object, name));
}

/* One line of the statement: Thu (a receipt) or Chi (a disbursement). */
static void write_line(lxw_worksheet *sheet, lxw_row_t row, const char *kind,
                       const json_t *line, bool receipt, const struct workbook_formats *formats)
{
    worksheet_write_string(sheet, row, 0, kind, NULL);
    sheet_write_date(sheet, row, 1, text_of(line, receipt ? "received_on" : "disbursed_on"),
                     formats->date);
    worksheet_write_string(sheet, row, 2, text_of(line, "unit_name"), NULL);
    worksheet_write_string(sheet, row, 3, text_of(line, receipt ? "receipt_no" : "decision_no"),
                           NULL);
    if (receipt && text_of(line, "donor") != NULL)
        worksheet_write_string(sheet, row, 4, text_of(line, "donor"), NULL);
    const char *content = receipt ? text_of(line, "in_kind_description") : text_of(line, "purpose");
    const char *earmark = receipt ? text_of(line, "earmark") : NULL;
    char joined[1400];
    snprintf(joined, sizeof joined, "%s%s%s", content ? content : "",
             content && earmark ? "; " : "", earmark ? earmark : "");
    if (joined[0] != '\0')
        worksheet_write_string(sheet, row, 5, joined, NULL);
    worksheet_write_string(sheet, row, 6,
                           receipt ? fund_method_label(text_of(line, "method"))
                           : json_is_true(json_object_get(line, "in_kind")) ? "Hiện vật"
                                                                             : "Tiền",
                           NULL);
    worksheet_write_number(sheet, row, 7, amount_of(line, "amount_vnd"), formats->vnd);
}

static void write_statement(lxw_workbook *workbook, const json_t *statement,
                            const struct workbook_formats *formats)
{
    lxw_worksheet *sheet = workbook_add_worksheet(workbook, "Công khai thu chi");
    const char *const titles[] = {"Loại", "Ngày", "Đơn vị", "Số chứng từ", "Nhà hảo tâm",
                                  "Nội dung", "Hình thức", "Số tiền (đồng)"};
    const double widths[] = {10, 12, 24, 14, 28, 36, 14, 18};
    sheet_header(sheet, titles, widths, 8, formats->header);
    lxw_row_t row = 1;
    size_t index;
    const json_t *line;
    json_array_foreach(json_object_get(statement, "receipts"), index, line)
        write_line(sheet, row++, "Thu", line, true, formats);
    json_array_foreach(json_object_get(statement, "spending"), index, line)
        write_line(sheet, row++, "Chi", line, false, formats);
    const char *totals[][2] = {{"Tổng thu", "total_receipts_vnd"},
                               {"Tổng chi", "total_spending_vnd"},
                               {"Còn lại", "balance_vnd"}};
    for (size_t i = 0; i < 3; i++, row++) {
        worksheet_write_string(sheet, row, 0, totals[i][0], formats->header);
        worksheet_write_number(sheet, row, 7, amount_of(statement, totals[i][1]), formats->vnd);
    }
}

/* Each unit's target and what it raised, and the chart of the two. */
static void write_books(lxw_workbook *workbook, const json_t *books,
                        const struct workbook_formats *formats)
{
    lxw_worksheet *sheet = workbook_add_worksheet(workbook, "Vận động theo xã");
    const char *const titles[] = {"Mã đơn vị", "Đơn vị", "Chỉ tiêu (đồng)", "Đã thu (đồng)"};
    const double widths[] = {10, 26, 18, 18};
    sheet_header(sheet, titles, widths, 4, formats->header);
    size_t index;
    const json_t *unit;
    json_array_foreach(books, index, unit) {
        lxw_row_t row = (lxw_row_t)(index + 1);
        worksheet_write_string(sheet, row, 0, text_of(unit, "unit"), NULL);
        worksheet_write_string(sheet, row, 1, text_of(unit, "unit_name"), NULL);
        worksheet_write_number(sheet, row, 2, amount_of(unit, "target_vnd"), formats->vnd);
        worksheet_write_number(sheet, row, 3, amount_of(unit, "raised_vnd"), formats->vnd);
    }
    size_t count = json_array_size(books);
    if (count == 0)
        return;
    lxw_chart *chart = workbook_add_chart(workbook, LXW_CHART_COLUMN);
    lxw_chart_series *target = chart_add_series(chart, NULL, NULL);
    lxw_chart_series *raised = chart_add_series(chart, NULL, NULL);
    chart_series_set_categories(target, "Vận động theo xã", 1, 1, (lxw_row_t)count, 1);
    chart_series_set_values(target, "Vận động theo xã", 1, 2, (lxw_row_t)count, 2);
    chart_series_set_name(target, "Chỉ tiêu");
    chart_series_set_categories(raised, "Vận động theo xã", 1, 1, (lxw_row_t)count, 1);
    chart_series_set_values(raised, "Vận động theo xã", 1, 3, (lxw_row_t)count, 3);
    chart_series_set_name(raised, "Đã thu");
    chart_title_set_name(chart, "Vận động quỹ: đã thu so với chỉ tiêu");
    chart_axis_set_num_format(chart->y_axis, "#,##0");
    lxw_chart_options placement = {.x_scale = 2, .y_scale = 1.5};
    worksheet_insert_chart_opt(sheet, 1, 5, chart, &placement);
}

void fund_disclosure_xlsx(struct request *request, const json_t *statement,
                          const json_t *books, const char *filename)
{
    struct workbook_file file;
    struct workbook_formats formats;
    if (!workbook_begin(request, &file, &formats))
        return;
    write_statement(file.workbook, statement, &formats);
    write_books(file.workbook, books, &formats);
    reply_workbook(request, &file, filename);
}
