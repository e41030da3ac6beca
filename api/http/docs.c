/* The API reference for people: GET /docs (Redoc rendering openapi.yaml),
 * GET /docs/redoc.standalone.js (the Redoc bundle, installed from npm when
 * the API is built) and GET /openapi.yaml (the contract itself).  Both files
 * are read from BAOVE_DOCS_DIR (default: the build's docs/, where CMake
 * copies them), so the page needs no network at run time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http/handlers.h"

/* The page: Redoc's element and its bundle, both from this server. */
static const char docs_page[] =
    "<!doctype html>\n"
    "<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>Baove API reference</title>\n"
    /* No favicon request (it would be a 404 in the console). */
    "<link rel=\"icon\" href=\"data:,\"></head>\n"
    "<body>\n"
    "<redoc spec-url=\"/openapi.yaml\" hide-download-button=\"false\"></redoc>\n"
    "<script src=\"/docs/redoc.standalone.js\"></script>\n"
    "</body></html>\n";

/* Answers with the file `name` of the docs directory, or 404 when the
 * build did not provide it. */
static void reply_file(struct request *request, const char *name, const char *content_type)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", config_string("BAOVE_DOCS_DIR", BAOVE_DEFAULT_DOCS_DIR),
             name);
    FILE *file = fopen(path, "rb");
    char *text = NULL;
    long length = -1;
    if (file != NULL && fseek(file, 0, SEEK_END) == 0 && (length = ftell(file)) >= 0 &&
        fseek(file, 0, SEEK_SET) == 0 && (text = malloc((size_t)length + 1)) != NULL &&
        fread(text, 1, (size_t)length, file) != (size_t)length) {
        free(text);
        text = NULL;
    }
    if (file != NULL)
        fclose(file);
    if (text == NULL) {
        reply_problem(request, PROBLEM_NOT_FOUND,
                      "The API reference was not built here (no %s in BAOVE_DOCS_DIR).", name);
        return;
    }
    reply_text(request, 200, content_type, text, (size_t)length);
}

void handle_docs_page(struct request *request)
{
    char *page = malloc(sizeof docs_page);
    if (page == NULL) {
        reply_problem(request, PROBLEM_INTERNAL, "Out of memory.");
        return;
    }
    memcpy(page, docs_page, sizeof docs_page);
    reply_text(request, 200, "text/html; charset=utf-8", page, sizeof docs_page - 1);
}

void handle_docs_script(struct request *request)
{
    reply_file(request, "redoc.standalone.js", "text/javascript; charset=utf-8");
}

void handle_openapi(struct request *request)
{
    reply_file(request, "openapi.yaml", "application/yaml; charset=utf-8");
}
