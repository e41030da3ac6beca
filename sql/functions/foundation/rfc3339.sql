-- Instants leave the database as RFC 3339 text in the district's time
-- zone: Asia/Ho_Chi_Minh has been UTC+07:00 without DST since 1975.
CREATE OR REPLACE FUNCTION rfc3339(instant timestamptz) RETURNS text
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    AS $$ SELECT to_char(instant AT TIME ZONE 'Asia/Ho_Chi_Minh',
                         'YYYY-MM-DD"T"HH24:MI:SS') || '+07:00' $$;
GRANT EXECUTE ON FUNCTION rfc3339(timestamptz) TO baove_app;
