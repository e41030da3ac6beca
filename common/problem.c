#include "problem.h"

#include "input.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct problem_info problems[PROBLEM_TYPE_COUNT] = {
    [PROBLEM_MALFORMED_JSON] = {"malformed-json", 400, "Malformed JSON",
        "The request body is not valid JSON (RFC 8259), or is not the JSON object the "
        "endpoint expects. Send a single UTF-8 JSON object with Content-Type: application/json."},
    [PROBLEM_JSON_TOO_DEEP] = {"json-too-deep", 400, "JSON nested too deeply",
        "The request body nests objects and arrays more than 32 levels deep. No Baove "
        "resource needs that much nesting; flatten the document."},
    [PROBLEM_DUPLICATE_KEY] = {"duplicate-key", 400, "Duplicate JSON key",
        "An object in the request body names the same key twice. Baove refuses such "
        "documents rather than guess which value was meant."},
    [PROBLEM_INVALID_PARAMETER] = {"invalid-parameter", 400, "Invalid query parameter",
        "A query parameter is malformed or out of range. The errors member names each "
        "parameter and what is wrong with it."},
    [PROBLEM_UNAUTHORIZED] = {"unauthorized", 401, "Authentication required",
        "The request carries no valid credentials: the bearer token is missing, unknown, "
        "expired or revoked, or the username and password do not match. Obtain a token "
        "with POST /v1/auth/token and send it as Authorization: Bearer <token>."},
    [PROBLEM_FORBIDDEN] = {"forbidden", 403, "Not allowed for this role",
        "The authenticated user's role does not permit this operation. Records outside the "
        "user's administrative scope are reported as not found instead."},
    [PROBLEM_UNIT_ENDED] = {"unit-ended", 403, "Your unit has ended",
        "The administrative unit of your account ended in a reorganisation (its district or "
        "commune was merged or abolished). The detail names its successor. An administrator "
        "moves the account with baove-admin user move; until then it can do nothing."},
    [PROBLEM_NOT_FOUND] = {"not-found", 404, "Not found",
        "There is no such resource, or it lies outside the administrative units the "
        "caller may see."},
    [PROBLEM_METHOD_NOT_ALLOWED] = {"method-not-allowed", 405, "Method not allowed",
        "The resource exists but does not support this HTTP method. The Allow header "
        "lists the methods it does support."},
    [PROBLEM_CONFLICT] = {"conflict", 409, "Conflict",
        "The request conflicts with the current state of the resource."},
    [PROBLEM_REQUEST_IN_PROGRESS] = {"request-in-progress", 409, "Request in progress",
        "Another request with the same Idempotency-Key is still being processed. Wait for "
        "it to finish, then retry: the stored response will be replayed."},
    [PROBLEM_CURSOR_EXPIRED] = {"cursor-expired", 410, "Cursor expired",
        "The change-feed cursor points before the oldest change still retained. Start again "
        "without a cursor (the request in restart): a snapshot, then the changes after it."},
    [PROBLEM_IDEMPOTENCY_KEY_REUSED] = {"idempotency-key-reused", 422,
        "Idempotency key reused",
        "This Idempotency-Key was already used with a different request body or path. Use a "
        "new key for a new request."},
    [PROBLEM_PRECONDITION_FAILED] = {"precondition-failed", 412, "Precondition failed",
        "The If-Match header names a version that is no longer current: someone else "
        "changed the record. The body carries the current record; merge and retry."},
    [PROBLEM_PAYLOAD_TOO_LARGE] = {"payload-too-large", 413, "Request body too large",
        "The request body exceeds the size this server accepts (BAOVE_MAX_BODY, 1 MiB by "
        "default)."},
    [PROBLEM_UNSUPPORTED_MEDIA_TYPE] = {"unsupported-media-type", 415,
        "Unsupported media type",
        "This endpoint accepts application/json request bodies only."},
    [PROBLEM_VALIDATION] = {"validation", 422, "Validation failed",
        "The request is well-formed JSON but some fields are missing or invalid. The "
        "errors member lists every bad field by JSON pointer (RFC 6901) with the reason. "
        "Nothing was written."},
    [PROBLEM_PRECONDITION_REQUIRED] = {"precondition-required", 428,
        "Precondition required",
        "Changing this record requires an If-Match header carrying the version you last "
        "read (its ETag), so that concurrent edits are never silently lost."},
    [PROBLEM_TOO_MANY_REQUESTS] = {"too-many-requests", 429, "Too many attempts",
        "Too many failed sign-in attempts for this username or from this address. Wait "
        "the number of seconds given in the Retry-After header."},
    [PROBLEM_INTERNAL] = {"internal", 500, "Internal error",
        "The server failed to complete the request. Nothing was written. The instance "
        "member is the request id to quote when reporting it."},
    [PROBLEM_DATABASE_UNAVAILABLE] = {"database-unavailable", 503, "Database unavailable",
        "The server cannot reach its database right now. Nothing was written; retry "
        "later."},
    [PROBLEM_NOT_READY] = {"not-ready", 503, "Not ready",
        "The service is running but not ready to serve: its database is unreachable or "
        "its schema migrations are not all applied."},
    [PROBLEM_OUTCOME_UNKNOWN] = {"outcome-unknown", 503, "Outcome unknown",
        "The database connection was lost while a change was being saved, so the server "
        "cannot tell whether it was saved. Send the same request again with the same "
        "Idempotency-Key: if the change was saved you get its answer again, otherwise it is "
        "made now. Never change the key when retrying."},
    [PROBLEM_SERVER_BUSY] = {"server-busy", 503, "Server busy",
        "The server is handling as many connections or sign-ins as it can right now. Nothing "
        "was read or written; retry after the number of seconds given in Retry-After."},
};

/* The same in Vietnamese, for people whose Accept-Language prefers it
 * (district and commune staff): the title, and what it means and what to do. */
static const struct {
    const char *title, *explanation;
} problems_vi[PROBLEM_TYPE_COUNT] = {
    [PROBLEM_MALFORMED_JSON] = {"JSON không hợp lệ",
        "Nội dung gửi lên không phải JSON hợp lệ (RFC 8259), hoặc không phải đối tượng JSON "
        "mà điểm cuối này cần. Hãy gửi một đối tượng JSON UTF-8 với Content-Type: "
        "application/json."},
    [PROBLEM_JSON_TOO_DEEP] = {"JSON lồng quá sâu",
        "Nội dung gửi lên lồng các đối tượng và mảng quá 32 cấp. Không tài nguyên nào của "
        "Baove cần lồng sâu như vậy."},
    [PROBLEM_DUPLICATE_KEY] = {"Khóa JSON bị trùng",
        "Một đối tượng trong nội dung gửi lên có cùng một khóa hai lần. Baove từ chối thay "
        "vì đoán giá trị nào là đúng."},
    [PROBLEM_INVALID_PARAMETER] = {"Tham số truy vấn không hợp lệ",
        "Một tham số truy vấn sai định dạng hoặc ngoài phạm vi. Mục errors nêu từng tham số "
        "và lỗi của nó."},
    [PROBLEM_UNAUTHORIZED] = {"Cần đăng nhập",
        "Yêu cầu không có thông tin xác thực hợp lệ: mã truy cập bị thiếu, không đúng, đã "
        "hết hạn hoặc đã bị thu hồi, hoặc tên đăng nhập và mật khẩu không khớp. Hãy đăng "
        "nhập lại."},
    [PROBLEM_FORBIDDEN] = {"Vai trò này không được phép",
        "Vai trò của người dùng không được thực hiện thao tác này. Hồ sơ ngoài phạm vi địa "
        "bàn của người dùng được báo là không tìm thấy."},
    [PROBLEM_NOT_FOUND] = {"Không tìm thấy",
        "Không có tài nguyên này, hoặc nó thuộc địa bàn mà người dùng không được xem."},
    [PROBLEM_METHOD_NOT_ALLOWED] = {"Phương thức không được hỗ trợ",
        "Tài nguyên có tồn tại nhưng không hỗ trợ phương thức HTTP này. Tiêu đề Allow liệt "
        "kê các phương thức được hỗ trợ."},
    [PROBLEM_CONFLICT] = {"Xung đột",
        "Yêu cầu mâu thuẫn với trạng thái hiện tại của hồ sơ."},
    [PROBLEM_REQUEST_IN_PROGRESS] = {"Yêu cầu đang được xử lý",
        "Một yêu cầu khác có cùng Idempotency-Key vẫn đang được xử lý. Hãy chờ rồi gửi lại: "
        "kết quả đã lưu sẽ được trả lại."},
    [PROBLEM_CURSOR_EXPIRED] = {"Con trỏ đã hết hạn",
        "Con trỏ của luồng thay đổi trỏ tới trước thay đổi cũ nhất còn lưu. Hãy đồng bộ lại "
        "từ đầu."},
    [PROBLEM_IDEMPOTENCY_KEY_REUSED] = {"Idempotency-Key bị dùng lại",
        "Idempotency-Key này đã được dùng cho một yêu cầu khác. Hãy dùng khóa mới cho yêu "
        "cầu mới."},
    [PROBLEM_PRECONDITION_FAILED] = {"Phiên bản đã thay đổi",
        "Hồ sơ đã được người khác sửa sau lần bạn đọc (If-Match không còn đúng). Nội dung "
        "trả về là hồ sơ hiện tại; hãy đối chiếu rồi gửi lại."},
    [PROBLEM_PAYLOAD_TOO_LARGE] = {"Nội dung gửi lên quá lớn",
        "Nội dung gửi lên vượt quá giới hạn máy chủ chấp nhận (BAOVE_MAX_BODY, mặc định "
        "1 MiB)."},
    [PROBLEM_UNSUPPORTED_MEDIA_TYPE] = {"Kiểu nội dung không được hỗ trợ",
        "Điểm cuối này chỉ nhận nội dung application/json."},
    [PROBLEM_VALIDATION] = {"Dữ liệu không hợp lệ",
        "Một số trường bị thiếu hoặc không hợp lệ. Mục errors liệt kê từng trường (theo JSON "
        "pointer, RFC 6901) và lý do. Chưa có gì được ghi."},
    [PROBLEM_PRECONDITION_REQUIRED] = {"Cần If-Match",
        "Để sửa hồ sơ này cần gửi tiêu đề If-Match với phiên bản bạn đọc lần cuối (ETag), để "
        "không bao giờ mất thay đổi của người khác."},
    [PROBLEM_TOO_MANY_REQUESTS] = {"Quá nhiều lần thử",
        "Đăng nhập sai quá nhiều lần với tên này hoặc từ địa chỉ này. Hãy chờ số giây ghi "
        "trong tiêu đề Retry-After."},
    [PROBLEM_INTERNAL] = {"Lỗi máy chủ",
        "Máy chủ không hoàn thành được yêu cầu. Chưa có gì được ghi. Mục instance là mã yêu "
        "cầu để báo lại cho bộ phận kỹ thuật."},
    [PROBLEM_DATABASE_UNAVAILABLE] = {"Cơ sở dữ liệu tạm thời không truy cập được",
        "Máy chủ hiện không kết nối được cơ sở dữ liệu. Chưa có gì được ghi; hãy thử lại "
        "sau."},
    [PROBLEM_NOT_READY] = {"Dịch vụ chưa sẵn sàng",
        "Dịch vụ đang chạy nhưng chưa sẵn sàng: không kết nối được cơ sở dữ liệu hoặc chưa "
        "áp dụng đủ các bản cập nhật lược đồ."},
    [PROBLEM_UNIT_ENDED] = {"Đơn vị của bạn đã chấm dứt",
        "Đơn vị hành chính của tài khoản đã chấm dứt do sắp xếp đơn vị hành chính (huyện "
        "hoặc xã đã được sáp nhập hay giải thể). Phần chi tiết nêu đơn vị kế thừa. Quản trị "
        "viên chuyển tài khoản bằng baove-admin user move; trước đó tài khoản không làm gì "
        "được."},
    [PROBLEM_OUTCOME_UNKNOWN] = {"Chưa rõ kết quả",
        "Kết nối tới cơ sở dữ liệu bị mất khi đang lưu thay đổi, nên máy chủ không biết "
        "thay đổi đã được lưu hay chưa. Hãy gửi lại đúng yêu cầu đó với cùng "
        "Idempotency-Key: nếu đã lưu, bạn nhận lại câu trả lời cũ; nếu chưa, thay đổi được "
        "lưu ngay. Không đổi khóa khi gửi lại."},
    [PROBLEM_SERVER_BUSY] = {"Máy chủ đang bận",
        "Máy chủ đang phục vụ số kết nối hoặc lượt đăng nhập tối đa. Chưa có gì được đọc "
        "hay ghi; hãy thử lại sau số giây ghi trong Retry-After."},
};

/* Details the API gives often, in Vietnamese: an English detail that starts
 * with `prefix` and ends with `suffix` becomes `vietnamese`, whose one %s (if
 * any) is what lay between them (a role, a list of methods, a size). */
static const struct {
    const char *prefix, *suffix, *vietnamese;
} details_vi[] = {
    {"No resource lives at this path.", "", "Không có tài nguyên nào ở đường dẫn này."},
    {"This path supports: ", ".", "Đường dẫn này chỉ hỗ trợ: %s."},
    {"The role ", " may not do this.", "Vai trò %s không được làm việc này."},
    {"There is no such problem type.", "", "Không có loại lỗi này."},
    {"Send If-Match with the ETag of the version you last read.", "",
     "Hãy gửi If-Match với ETag của phiên bản bạn đọc lần cuối."},
    {"The body may be at most ", " bytes.", "Nội dung gửi lên tối đa %s byte."},
    {"The query is invalid.", "", "Tham số truy vấn không hợp lệ."},
    {"The username or password is wrong.", "", "Sai tên đăng nhập hoặc mật khẩu."},
    {"The token is unknown, expired or revoked.", "",
     "Mã truy cập không đúng, đã hết hạn hoặc đã bị thu hồi; hãy đăng nhập lại."},
    {"Send Authorization: Bearer <token>; get a token from POST /v1/auth/token.", "",
     "Hãy đăng nhập (POST /v1/auth/token) và gửi Authorization: Bearer <mã truy cập>."},
    {"The ", " was changed since that version; the current record is in `current`.",
     "Hồ sơ (%s) đã được người khác sửa sau phiên bản đó; hồ sơ hiện tại nằm trong "
     "`current`."},
    {"The ", " is invalid.", "Dữ liệu gửi lên không hợp lệ (%s); xem từng lỗi trong errors."},
    {"No such unit in your scope.", "", "Không có đơn vị này trong địa bàn của bạn."},
    {"As many streamed pulls as the server runs at once are under way; nothing was read. "
     "Retry after the seconds in Retry-After, or page through the JSON form.", "",
     "Máy chủ đang phục vụ số lượt tải liền một mạch tối đa cùng lúc; chưa có gì được đọc. "
     "Hãy thử lại sau số giây ghi trong Retry-After, hoặc tải từng trang (JSON)."},
    {"No such ", ".", "Không tìm thấy (%s)."},
};

enum problem_language problem_language(const char *accept_language)
{
    /* The language range with the highest quality wins (the first on a tie);
     * only Vietnamese changes anything. */
    enum problem_language chosen = PROBLEM_ENGLISH;
    int best = 0;
    for (const char *item = accept_language; item != NULL && *item != '\0';) {
        item += strspn(item, " ,");
        size_t length = strcspn(item, ",");
        size_t range = strcspn(item, ";, ");
        int quality = input_header_weight(item, length);
        if (quality > best) {
            best = quality;
            chosen = (range == 2 || (range > 2 && item[2] == '-')) &&
                             strncasecmp(item, "vi", 2) == 0
                         ? PROBLEM_VIETNAMESE
                         : PROBLEM_ENGLISH;
        }
        item += length;
    }
    return chosen;
}

const char *problem_title_in(enum problem_type type, enum problem_language language)
{
    return language == PROBLEM_VIETNAMESE ? problems_vi[type].title : problems[type].title;
}

const char *problem_explanation_in(enum problem_type type, enum problem_language language)
{
    return language == PROBLEM_VIETNAMESE ? problems_vi[type].explanation
                                          : problems[type].explanation;
}

/* The Vietnamese of an English detail: from the table, else the type's
 * explanation followed by the English detail, so nothing specific is lost. */
static json_t *detail_vi(enum problem_type type, const char *detail)
{
    size_t length = strlen(detail);
    for (size_t i = 0; i < sizeof details_vi / sizeof details_vi[0]; i++) {
        size_t prefix = strlen(details_vi[i].prefix), suffix = strlen(details_vi[i].suffix);
        if (length < prefix + suffix || strncmp(detail, details_vi[i].prefix, prefix) != 0 ||
            strcmp(detail + length - suffix, details_vi[i].suffix) != 0)
            continue;
        if (strstr(details_vi[i].vietnamese, "%s") == NULL)
            return length == prefix + suffix ? json_string(details_vi[i].vietnamese) : NULL;
        char middle[512];
        snprintf(middle, sizeof middle, "%.*s", (int)(length - prefix - suffix), detail + prefix);
        return json_sprintf(details_vi[i].vietnamese, middle);
    }
    return json_sprintf("%s (%s)", problems_vi[type].explanation, detail);
}

const struct problem_info *problem_info(enum problem_type type)
{
    return &problems[type];
}

const struct problem_info *problem_find(const char *slug)
{
    for (size_t i = 0; i < PROBLEM_TYPE_COUNT; i++)
        if (strcmp(problems[i].slug, slug) == 0)
            return &problems[i];
    return NULL;
}

json_t *problem_body(enum problem_type type, const char *detail, const char *instance,
                     json_t *errors)
{
    return problem_body_in(type, detail, instance, errors, PROBLEM_ENGLISH);
}

json_t *problem_body_in(enum problem_type type, const char *detail, const char *instance,
                        json_t *errors, enum problem_language language)
{
    const struct problem_info *info = &problems[type];
    char type_uri[96];
    snprintf(type_uri, sizeof type_uri, "/problems/%s", info->slug);
    json_t *body = json_object();
    json_object_set_new(body, "type", json_string(type_uri));
    json_object_set_new(body, "title", json_string(problem_title_in(type, language)));
    json_object_set_new(body, "status", json_integer(info->status));
    json_t *text = NULL;
    if (language == PROBLEM_VIETNAMESE && detail != NULL)
        text = detail_vi(type, detail);
    if (text == NULL)
        text = json_string(detail != NULL ? detail : problem_title_in(type, language));
    json_object_set_new(body, "detail", text);
    if (instance != NULL)
        json_object_set_new(body, "instance", json_string(instance));
    if (errors != NULL)
        json_object_set_new(body, "errors", errors);
    return body;
}

static void add_error(json_t *errors, const char *key, const char *where, const char *format,
                      va_list args)
{
    char detail[512];
    vsnprintf(detail, sizeof detail, format, args);
    json_array_append_new(errors, json_pack("{s:s, s:s}", key, where, "detail", detail));
}

void problem_add_field_error(json_t *errors, const char *pointer, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    add_error(errors, "pointer", pointer, format, args);
    va_end(args);
}

void problem_add_parameter_error(json_t *errors, const char *name, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    add_error(errors, "parameter", name, format, args);
    va_end(args);
}
