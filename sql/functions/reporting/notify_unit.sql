-- Writes one message to every enabled channel of a unit.  Returns how many
-- rows were written (0 when the unit has no channel, or the message was
-- already written under the same key).
--
-- EXECUTE is revoked from PUBLIC: only the job functions (SECURITY DEFINER)
-- call it.
CREATE OR REPLACE FUNCTION notify_unit(target_unit bigint, message_kind text, message_key text,
                            message jsonb, at timestamptz)
    RETURNS integer LANGUAGE plpgsql
    SET search_path = public, pg_temp
    AS $$
DECLARE
    written integer;
BEGIN
    INSERT INTO notifications (unit_id, channel_id, kind, payload, next_attempt_at,
                               created_at, dedup_key)
    SELECT target_unit, c.id, message_kind, message, at, at, message_key || ':' || c.id
      FROM notification_channels c
     WHERE c.unit_id = target_unit AND c.enabled
    ON CONFLICT (dedup_key) DO NOTHING;
    GET DIAGNOSTICS written = ROW_COUNT;
    IF written > 0 THEN
        PERFORM pg_notify('baove_worker', 'notification');
    END IF;
    RETURN written;
END
$$;
REVOKE EXECUTE ON FUNCTION notify_unit(bigint, text, text, jsonb, timestamptz) FROM PUBLIC;
