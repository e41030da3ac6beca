-- The name a receipt shows in the public statement (công khai): the
-- donor's, unless the donor asked to stay anonymous or none was recorded.
-- SECURITY DEFINER: a commune's statement names a donor registered at the
-- district, whom the commune's readers cannot otherwise see; only this
-- public name leaves (never phone or address).
CREATE OR REPLACE FUNCTION fund_disclosed_donor(donor uuid) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    SELECT coalesce((SELECT CASE WHEN d.anonymous_in_disclosure THEN NULL ELSE d.name END
                       FROM fund_donors d WHERE d.id = donor), 'Nhà hảo tâm ẩn danh')
    $$;
REVOKE ALL ON FUNCTION fund_disclosed_donor(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fund_disclosed_donor(uuid) TO baove_app;
