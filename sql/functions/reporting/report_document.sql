-- The API's representation of a report, in one place.
CREATE OR REPLACE FUNCTION report_document(report reports) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT json_build_object(
        'period', report.period_key,
        'unit', u.code,
        'unit_name', u.name,
        'status', report.status,
        'narrative', report.narrative,
        'activities', report.activities,
        'indicators', report.indicators,
        'submitted_at', rfc3339(report.submitted_at),
        'on_time', report.on_time,
        'submissions', report.submissions,
        'returned_reason', report.returned_reason,
        'returned_at', rfc3339(report.returned_at),
        'accepted_at', rfc3339(report.accepted_at),
        'reviewed_by', report.reviewed_by,
        'version', report.version,
        'updated_at', rfc3339(report.updated_at))
      FROM units u WHERE u.id = report.unit_id
    $$;
GRANT EXECUTE ON FUNCTION report_document(reports) TO baove_app;
