-- Forgets the reminders of a report period recorded for moments that,
-- counted from its due date as it now is, are still to come: they go out
-- again at those moments (report_reminders() names the due date in its
-- messages' keys).  The API calls it in the transaction that saves a
-- period's dates (api/reporting/report_periods.c): a due date moved later
-- would otherwise silence the rest of the period's reminders, and one moved
-- earlier keeps those already sent.  Returns how many were forgotten.
--
-- SECURITY DEFINER: the application role may not delete reminders itself.
CREATE OR REPLACE FUNCTION report_reminders_forget_ahead(period text, today date)
    RETURNS integer LANGUAGE sql SECURITY DEFINER
    SET search_path = public, pg_temp
    AS $$
    WITH forgotten AS (
        DELETE FROM report_reminders r USING report_periods p
         WHERE p.key = period AND r.period_key = p.key AND p.due_on + r.offset_days > today
        RETURNING 1)
    SELECT count(*)::integer FROM forgotten
$$;
REVOKE EXECUTE ON FUNCTION report_reminders_forget_ahead(text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION report_reminders_forget_ahead(text, date) TO baove_app;
