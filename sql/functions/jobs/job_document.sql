-- The API's representation of a job (GET /v1/jobs, /v1/jobs/{id}).
CREATE OR REPLACE FUNCTION job_document(j jobs) RETURNS json LANGUAGE sql STABLE
    AS $$ SELECT json_build_object(
        'id', j.id, 'kind', j.kind, 'unique_key', j.unique_key, 'payload', j.payload,
        'status', j.status, 'attempts', j.attempts, 'max_attempts', j.max_attempts,
        'run_at', rfc3339(j.run_at), 'leased_by', j.leased_by,
        'lease_expires_at', rfc3339(j.lease_expires_at), 'last_error', j.last_error,
        'result', j.result, 'created_at', rfc3339(j.created_at),
        'started_at', rfc3339(j.started_at), 'finished_at', rfc3339(j.finished_at)) $$;
GRANT EXECUTE ON FUNCTION job_document(jobs) TO baove_app;
