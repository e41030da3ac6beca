-- Enters a principal's scope for the rest of the transaction: the root unit
-- and the date of the tree that row-level security judges by, and the units
-- that scope covers (scope_subtree), which scope_units() then reads back
-- instead of walking the tree in every query.  All three settings are
-- transaction-local (set_config(..., true)): they end with the transaction,
-- so a pooled connection never carries one request's scope into the next.
--
-- It enters only for a bearer token valid at that moment: the request's
-- token (its SHA-256, bearer_hash) must be unrevoked and unexpired at
-- at_instant (the API's clock, BAOVE_NOW in tests), its principal enabled
-- and still as_principal with the role as_role and the unit root, and that
-- unit not ended on on_date.  Otherwise it raises SQLSTATE BV401 (Baove's
-- own: "the principal this request was authenticated as is not valid
-- now"), which fails the transaction before it reads or writes anything.
-- The API keeps the principals of recently seen tokens
-- (api/http/principal_cache.h) and sends a request's transaction without
-- looking its token up first; this check is what makes that safe: a token
-- revoked, a principal disabled, moved or given another role by another
-- process is refused on the very next transaction, and the API then
-- authenticates the request again from scratch (docs/lifecycle.md).
--
-- Walking the tree cost more than anything else a GET of a child asks of
-- PostgreSQL (issue 16: 40 % more reads per second without it), so the
-- session keeps the units of its last few scopes in baove.scope_memo, each
-- under its root, date and scope_version ("root@date#version={ids}",
-- newest first, separated by ";").  Any change to the units, their
-- successions or the functions raises scope_version in the same
-- transaction, so a kept scope is never used once its tree has changed; if
-- the version moves between reading it and walking the tree, the newer tree
-- is kept under the older version, which no later lookup asks for.  The
-- memo is a cache of a function of its key, not a scope: a pooler that
-- hands the session to another client hands it nothing that client may not
-- see.
CREATE OR REPLACE FUNCTION scope_enter(bearer_hash text, as_principal uuid, as_role text,
                                       root bigint, at_instant timestamptz, on_date date)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    AS $$
DECLARE
    kept_scopes constant integer := 16;
    on_text constant text := to_char(on_date, 'YYYY-MM-DD');
    key constant text := root || '@' || on_text || '#'
                         || (SELECT v.version FROM scope_version v) || '=';
    memo constant text := coalesce(current_setting('baove.scope_memo', true), '');
    found_at integer;
    ids text;
BEGIN
    IF NOT EXISTS (SELECT FROM access_tokens t JOIN principals p ON p.id = t.principal_id
                     JOIN units u ON u.id = p.unit_id
                    WHERE t.token_hash = bearer_hash AND t.revoked_at IS NULL
                      AND (t.expires_at IS NULL OR t.expires_at > at_instant)
                      AND p.id = as_principal AND p.disabled_at IS NULL
                      AND p.role = as_role AND p.unit_id = root
                      AND (u.valid_to IS NULL OR u.valid_to >= on_date)) THEN
        RAISE EXCEPTION 'scope_enter: the request''s token is not valid now for that principal'
            USING ERRCODE = 'BV401';
    END IF;
    found_at := position(';' || key IN ';' || memo);
    IF found_at > 0 THEN
        ids := split_part(substr(memo, found_at + length(key)), ';', 1);
    ELSE
        ids := ARRAY(SELECT s.id FROM scope_subtree(root, on_date, on_date) s
                      ORDER BY s.id)::text;
        PERFORM set_config('baove.scope_memo',
                           array_to_string((array_remove(string_to_array(key || ids || ';' || memo, ';'),
                                                         ''))[1:kept_scopes], ';'),
                           false);
    END IF;
    PERFORM set_config('baove.scope_unit', root::text, true),
            set_config('baove.scope_on', on_text, true);
    PERFORM set_config('baove.scope_units', scope_key() || ids, true);
END
$$;
GRANT EXECUTE ON FUNCTION scope_enter(text, uuid, text, bigint, timestamptz, date)
    TO baove_app;
