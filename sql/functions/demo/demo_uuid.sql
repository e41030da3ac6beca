-- A UUID from 32 hex digits (an md5()), with the version (4) and variant
-- bits set so that strict parsers accept it: the ids of the demo data.
CREATE OR REPLACE FUNCTION demo_uuid(hex text) RETURNS uuid
    LANGUAGE sql IMMUTABLE STRICT
    RETURN (left(hex, 12) || '4' || substr(hex, 14, 3)
            || translate(substr(hex, 17, 1), '0123456789abcdef', '89ab89ab89ab89ab')
            || substr(hex, 18))::uuid;
