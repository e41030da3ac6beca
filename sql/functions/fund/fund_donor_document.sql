-- The API's representation of a donor.
CREATE OR REPLACE FUNCTION fund_donor_document(donor fund_donors) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT json_build_object(
        'id', donor.id,
        'unit', (SELECT code FROM units WHERE units.id = donor.unit_id),
        'kind', donor.kind,
        'name', donor.name,
        'phone', donor.phone,
        'address', donor.address,
        'anonymous_in_disclosure', donor.anonymous_in_disclosure,
        'version', donor.version,
        'created_at', rfc3339(donor.created_at),
        'updated_at', rfc3339(donor.updated_at))
    $$;
GRANT EXECUTE ON FUNCTION fund_donor_document(fund_donors) TO baove_app;
