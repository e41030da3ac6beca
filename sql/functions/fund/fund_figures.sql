-- One unit's (or a subtree's, without unit and name) figures in the
-- summary.  Sums arrive as numeric; each fits bigint for any real books.
CREATE OR REPLACE FUNCTION fund_figures(code text, name text, target numeric, pledged numeric,
                             raised numeric, in_kind numeric, outstanding numeric,
                             overdue numeric, disbursed numeric, general numeric,
                             earmarked numeric) RETURNS json
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT (CASE WHEN code IS NULL THEN figures - 'unit' - 'name' ELSE figures END)::json
      FROM (SELECT jsonb_build_object(
                'unit', code, 'name', name,
                'target_vnd', target::bigint,
                'pledged_vnd', pledged::bigint,
                'raised_vnd', raised::bigint,
                'raised_cash_vnd', (raised - in_kind)::bigint,
                'raised_in_kind_vnd', in_kind::bigint,
                'outstanding_vnd', outstanding::bigint,
                'overdue_vnd', overdue::bigint,
                'disbursed_vnd', disbursed::bigint,
                'balance', jsonb_build_object('general_vnd', general::bigint,
                                              'earmarked_vnd', earmarked::bigint),
                'progress_per_mille', CASE WHEN target > 0
                                           THEN floor(raised * 1000 / target)::bigint END)
                AS figures) f
    $$;
GRANT EXECUTE ON FUNCTION fund_figures(text, text, numeric, numeric, numeric, numeric, numeric, numeric, numeric, numeric, numeric) TO baove_app;
