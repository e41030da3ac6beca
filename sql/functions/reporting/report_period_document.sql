-- The API's representation of a report period.
CREATE OR REPLACE FUNCTION report_period_document(period report_periods) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT json_build_object(
        'key', period.key, 'year', period.year, 'kind', period.kind,
        'covers_from', period.covers_from::text, 'covers_to', period.covers_to::text,
        'due_on', period.due_on::text, 'version', period.version)
    $$;
GRANT EXECUTE ON FUNCTION report_period_document(report_periods) TO baove_app;
