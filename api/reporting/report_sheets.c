/* Report summary spreadsheets (report_sheets.h): one row per commune (xã)
 * with its report's status and dates and the indicator figures it froze on
 * submission, each beside its target, for a district office that reads in
 * Excel. */
#include "reporting/report_sheets.h"

#include <stdio.h>
#include <string.h>

#include "csv.h"
#include "http/spreadsheet.h"

/* The indicators as the plan names them (Kế hoạch 2020, mục I). */
static const struct {
    const char *code, *label;
} indicator_labels[] = {
    {"children_total", "Tổng số trẻ em"},
    {"csc_total", "Trẻ em có hoàn cảnh đặc biệt"},
    {"csc_rate", "Tỷ lệ trẻ em có HCĐB"},
    {"csc_supported", "Trẻ em có HCĐB được trợ giúp"},
    {"csc_supported_rate", "Tỷ lệ trẻ em có HCĐB được trợ giúp"},
    {"at_risk_total", "Trẻ em có nguy cơ rơi vào HCĐB"},
    {"abused_children", "Trẻ em bị xâm hại"},
    {"cases_opened", "Vụ việc tiếp nhận"},
    {"cases_closed", "Vụ việc kết thúc"},
    {"cases_open", "Vụ việc đang xử lý"},
    {"emergency_cases", "Vụ việc khẩn cấp"},
    {"emergency_deadline_met_rate", "Tỷ lệ can thiệp khẩn cấp đúng hạn"},
    {"plan_on_time_rate", "Tỷ lệ kế hoạch hỗ trợ đúng hạn"},
    {"fund_target_vnd", "Chỉ tiêu vận động quỹ"},
    {"fund_pledged_vnd", "Quỹ: cam kết"},
    {"fund_raised_vnd", "Quỹ: đã thu"},
    {"fund_raised_rate", "Tỷ lệ vận động quỹ"},
};

static const char *indicator_label(const char *code)
{
    for (size_t i = 0; i < sizeof indicator_labels / sizeof indicator_labels[0]; i++)
        if (strcmp(indicator_labels[i].code, code) == 0)
            return indicator_labels[i].label;
    return code;
}

/* A report's status as the office says it. */
static const char *status_label(const char *status)
{
    if (status == NULL)
        return "Chưa lập";
    if (strcmp(status, "draft") == 0)
        return "Đang soạn";
    if (strcmp(status, "submitted") == 0)
        return "Đã nộp";
    if (strcmp(status, "returned") == 0)
        return "Bị trả lại";
    if (strcmp(status, "accepted") == 0)
        return "Đã duyệt";
    return status;
}

static const char *text_of(const json_t *object, const char *name)
{
    return json_string_value(json_object_get(object, name));
}

#define FIXED_COLUMNS 6

/* The indicator columns: the codes of the district's summary, in its order. */
static size_t indicator_columns(const json_t *summary, const char *codes[], size_t capacity)
{
    size_t count = 0, index;
    const json_t *indicator;
    json_array_foreach(json_object_get(summary, "indicators"), index, indicator) {
        if (count < capacity)
            codes[count++] = text_of(indicator, "code");
    }
    return count;
}

/* The item of `code` among a commune's frozen items, or NULL. */
static const json_t *item_of(const json_t *items, const char *code)
{
    size_t index;
    const json_t *item;
    json_array_foreach(items, index, item) {
        if (strcmp(text_of(item, "code"), code) == 0)
            return item;
    }
    return NULL;
}

/* A figure in its scale's format: per mille, VND or a count. */
static void write_figure(lxw_worksheet *sheet, lxw_row_t row, lxw_col_t column,
                         const json_t *value, const char *scale,
                         const struct workbook_formats *formats)
{
    if (!json_is_integer(value))
        return;
    lxw_format *format = strcmp(scale, "per_mille") == 0 ? formats->rate
                         : strcmp(scale, "vnd") == 0     ? formats->vnd
                                                         : formats->number;
    worksheet_write_number(sheet, row, column, (double)json_integer_value(value), format);
}

static void write_header(lxw_worksheet *sheet, const char *codes[], size_t count,
                         const struct workbook_formats *formats)
{
    const char *const fixed[FIXED_COLUMNS] = {"Mã xã", "Tên xã", "Tình trạng báo cáo",
                                              "Ngày nộp", "Đúng hạn", "Ngày duyệt"};
    const double widths[FIXED_COLUMNS] = {8, 24, 16, 12, 10, 12};
    sheet_header(sheet, fixed, widths, FIXED_COLUMNS, formats->header);
    for (size_t i = 0; i < count; i++) {
        lxw_col_t column = (lxw_col_t)(FIXED_COLUMNS + 2 * i);
        char target[160];
        snprintf(target, sizeof target, "%s: chỉ tiêu", indicator_label(codes[i]));
        worksheet_write_string(sheet, 0, column, indicator_label(codes[i]), formats->header);
        worksheet_write_string(sheet, 0, column + 1, target, formats->header);
        worksheet_set_column(sheet, column, column + 1, 14, NULL);
    }
    worksheet_set_row(sheet, 0, 45, NULL);
}

static void write_commune(lxw_worksheet *sheet, lxw_row_t row, const json_t *commune,
                          const json_t *items, const char *codes[], size_t count,
                          const struct workbook_formats *formats)
{
    const json_t *on_time = json_object_get(commune, "on_time");
    worksheet_write_string(sheet, row, 0, text_of(commune, "unit"), NULL);
    worksheet_write_string(sheet, row, 1, text_of(commune, "unit_name"), NULL);
    worksheet_write_string(sheet, row, 2, status_label(text_of(commune, "status")), NULL);
    sheet_write_date(sheet, row, 3, text_of(commune, "submitted_at"), formats->date);
    if (json_is_boolean(on_time))
        worksheet_write_string(sheet, row, 4, json_is_true(on_time) ? "Có" : "Không", NULL);
    sheet_write_date(sheet, row, 5, text_of(commune, "accepted_at"), formats->date);
    for (size_t i = 0; i < count; i++) {
        const json_t *item = item_of(items, codes[i]);
        if (item == NULL)
            continue;
        const char *scale = text_of(item, "scale");
        lxw_col_t column = (lxw_col_t)(FIXED_COLUMNS + 2 * i);
        write_figure(sheet, row, column, json_object_get(item, "value"), scale, formats);
        write_figure(sheet, row, column + 1,
                     json_object_get(json_object_get(item, "target"), "value"), scale, formats);
    }
}

void report_summary_xlsx(struct request *request, const json_t *summary)
{
    struct workbook_file file;
    struct workbook_formats formats;
    if (!workbook_begin(request, &file, &formats))
        return;
    lxw_worksheet *sheet = workbook_add_worksheet(file.workbook, "Tổng hợp báo cáo");
    const char *codes[64];
    size_t count = indicator_columns(summary, codes, sizeof codes / sizeof codes[0]);
    write_header(sheet, codes, count, &formats);
    const json_t *indicators = json_object_get(summary, "commune_indicators");
    size_t index;
    const json_t *commune;
    json_array_foreach(json_object_get(summary, "communes"), index, commune) {
        write_commune(sheet, (lxw_row_t)(index + 1), commune,
                      json_object_get(indicators, text_of(commune, "unit")), codes, count,
                      &formats);
    }
    worksheet_autofilter(sheet, 0, 0, (lxw_row_t)index, (lxw_col_t)(FIXED_COLUMNS + 2 * count - 1));
    char filename[64];
    snprintf(filename, sizeof filename, "bao-cao-%s-%s.xlsx", text_of(summary, "period"),
             text_of(summary, "unit"));
    reply_workbook(request, &file, filename);
}

/* One row per expected commune; Vietnamese headers and labels when asked
 * in Vietnamese, the API's own words otherwise (as it always was). */
void report_summary_csv(struct request *request, const json_t *summary)
{
    bool vietnamese = request_wants_vietnamese(request);
    struct csv csv;
    csv_init_delimited(&csv, request_csv_delimiter(request));
    const char *english[] = {"period", "unit", "unit_name", "status", "submitted_at",
                             "on_time", "accepted_at"};
    const char *header_vi[] = {"Kỳ báo cáo", "Mã xã", "Tên xã", "Tình trạng báo cáo",
                               "Thời điểm nộp", "Đúng hạn", "Thời điểm duyệt"};
    for (size_t i = 0; i < sizeof english / sizeof english[0]; i++)
        csv_text(&csv, vietnamese ? header_vi[i] : english[i]);
    csv_end_row(&csv);
    size_t index;
    const json_t *commune;
    const char *period = text_of(summary, "period");
    json_array_foreach(json_object_get(summary, "communes"), index, commune) {
        const json_t *on_time = json_object_get(commune, "on_time");
        const char *status = text_of(commune, "status");
        csv_text(&csv, period);
        csv_text(&csv, text_of(commune, "unit"));
        csv_text(&csv, text_of(commune, "unit_name"));
        csv_text(&csv, vietnamese ? status_label(status) : status);
        csv_text(&csv, text_of(commune, "submitted_at"));
        csv_text(&csv, !json_is_boolean(on_time) ? NULL
                       : json_is_true(on_time)   ? (vietnamese ? "Có" : "yes")
                                                 : (vietnamese ? "Không" : "no"));
        csv_text(&csv, text_of(commune, "accepted_at"));
        csv_end_row(&csv);
    }
    size_t length = 0;
    char *text = csv_finish(&csv, &length);
    char filename[64];
    snprintf(filename, sizeof filename, "reports-%s-%s.csv", period, text_of(summary, "unit"));
    reply_csv(request, text, length, filename);
}
