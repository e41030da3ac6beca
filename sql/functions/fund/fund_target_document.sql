-- The API's representation of a fund mobilisation target (PUT and GET
-- /v1/fund/targets, and the change feed's `target` entries, whichever of
-- PUT /v1/fund/targets/{year}/{unit} and PUT /v1/plans/{year} wrote it).
CREATE OR REPLACE FUNCTION fund_target_document(t fund_targets) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT json_build_object('year', t.year, 'unit', u.code, 'name', u.name,
                             'amount_vnd', t.amount_vnd, 'version', t.version)
      FROM units u WHERE u.id = t.unit_id
    $$;
GRANT EXECUTE ON FUNCTION fund_target_document(fund_targets) TO baove_app;
