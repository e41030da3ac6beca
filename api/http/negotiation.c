/* Content negotiation (declared in server.h): which representation the
 * Accept header (or ?format=) asks for. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/server.h"
#include "input.h"

/* The quality (0–1000) an Accept header gives a media type: its own entry,
 * else type/ *, else * / *; 0 when none matches. */
static int accept_quality(const char *accept, const char *type)
{
    size_t slash = strcspn(type, "/");
    int best = 0, best_specificity = -1;
    for (const char *entry = accept; *entry != '\0';) {
        entry += strspn(entry, " \t,");
        size_t entry_length = strcspn(entry, ",");
        size_t range_length = strcspn(entry, ";, \t");
        int specificity = -1;
        if (range_length == strlen(type) && strncasecmp(entry, type, range_length) == 0)
            specificity = 2;
        else if (range_length == slash + 2 && strncasecmp(entry, type, slash + 1) == 0 &&
                 entry[slash + 1] == '*')
            specificity = 1;
        else if (range_length == 3 && strncmp(entry, "*/*", 3) == 0)
            specificity = 0;
        if (specificity > best_specificity) {
            best = input_header_weight(entry, entry_length);
            best_specificity = specificity;
        }
        entry += entry_length;
    }
    return best;
}

bool request_prefers(const struct request *request, const char *media_type)
{
    const char *accept = request_header(request, MHD_HTTP_HEADER_ACCEPT);
    int quality = accept != NULL ? accept_quality(accept, media_type) : 0;
    return quality > 0 && quality > accept_quality(accept, "application/json");
}

bool request_wants_csv(const struct request *request)
{
    const char *format = request_query(request, "format");
    if (format != NULL)
        return strcmp(format, "csv") == 0;
    const char *accept = request_header(request, MHD_HTTP_HEADER_ACCEPT);
    if (accept == NULL)
        return false;
    int csv = accept_quality(accept, "text/csv");
    return csv > 0 && csv > accept_quality(accept, "application/json");
}
