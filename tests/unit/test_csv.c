/* CSV for spreadsheets: byte order mark, quoting, formula neutralising. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

static void rows_are_quoted_only_when_needed(void **state)
{
    (void)state;
    struct csv csv;
    csv_init(&csv);
    csv_text(&csv, "Nhà hảo tâm ẩn danh");
    csv_integer(&csv, -5000000);
    csv_text(&csv, NULL);
    csv_end_row(&csv);
    csv_text(&csv, "Công ty \"Sen Hồng\", Đồng Tháp");
    csv_text(&csv, "line\nbreak");
    csv_end_row(&csv);
    size_t length = 0;
    char *text = csv_finish(&csv, &length);
    const char *expected = "\xEF\xBB\xBFNhà hảo tâm ẩn danh,-5000000,\r\n"
                           "\"Công ty \"\"Sen Hồng\"\", Đồng Tháp\",\"line\nbreak\"\r\n";
    assert_int_equal(length, strlen(expected));
    assert_string_equal(text, expected);
    free(text);
}

static void formulas_are_neutralised(void **state)
{
    (void)state;
    struct csv csv;
    csv_init(&csv);
    csv_text(&csv, "=HYPERLINK(\"http://x\")");
    csv_text(&csv, "-1+2");
    csv_text(&csv, "@SUM(A1)");
    csv_end_row(&csv);
    size_t length = 0;
    char *text = csv_finish(&csv, &length);
    assert_string_equal(text, "\xEF\xBB\xBF\"'=HYPERLINK(\"\"http://x\"\")\",\"'-1+2\","
                              "\"'@SUM(A1)\"\r\n");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rows_are_quoted_only_when_needed),
        cmocka_unit_test(formulas_are_neutralised),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
