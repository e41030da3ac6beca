-- Folds a name for search: lower case, Vietnamese diacritics removed
-- ("Nguyễn Văn Ân" → "nguyen van an"; đ → d).  unaccent() is only STABLE
-- because its dictionary could change; naming the dictionary makes this
-- safe to declare IMMUTABLE and to index.
CREATE OR REPLACE FUNCTION search_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$;
GRANT EXECUTE ON FUNCTION search_fold(text) TO baove_app;
