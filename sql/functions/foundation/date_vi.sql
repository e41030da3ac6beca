-- dd/mm/yyyy, as Vietnamese forms write dates.
CREATE OR REPLACE FUNCTION date_vi(day date) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT to_char(day, 'DD/MM/YYYY') $$;
GRANT EXECUTE ON FUNCTION date_vi(date) TO baove_app;
