-- Enters a principal's scope for the rest of the transaction: the root unit
-- and the date of the tree that row-level security judges by, and the units
-- that scope covers (scope_subtree), which scope_units() then reads back
-- instead of walking the tree in every query.  All three settings are
-- transaction-local (set_config(..., true)): they end with the transaction,
-- so a pooled connection never carries one request's scope into the next.
-- A null root (an unknown principal) enters a scope with no units.
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
CREATE OR REPLACE FUNCTION scope_enter(root bigint, on_date date) RETURNS void
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
    IF root IS NULL THEN
        PERFORM set_config('baove.scope_unit', '', true),
                set_config('baove.scope_on', on_text, true),
                set_config('baove.scope_units', '', true);
        RETURN;
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
GRANT EXECUTE ON FUNCTION scope_enter(bigint, date) TO baove_app;
