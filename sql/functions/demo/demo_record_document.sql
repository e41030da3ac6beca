-- The change-log record of a circumstance, risk or support row (to_jsonb of
-- it), as the API writes it (api/registry): its columns, instants in RFC 3339.
CREATE OR REPLACE FUNCTION demo_record_document(row_document jsonb) RETURNS jsonb
    LANGUAGE sql STABLE STRICT
    RETURN (row_document - 'created_at' - 'updated_at')
           || jsonb_build_object('created_at', rfc3339((row_document ->> 'created_at')::timestamptz),
                                 'updated_at', rfc3339((row_document ->> 'updated_at')::timestamptz));
