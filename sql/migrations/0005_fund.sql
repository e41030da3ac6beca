-- 0005: the child protection fund (Quỹ Bảo trợ trẻ em): donors, pledges
-- (đăng ký ủng hộ) with their instalments, payments received, disbursements,
-- and what the summaries and the indicators read from them.
--
-- Every record belongs to the unit whose books it is in (the receiving
-- unit) and is visible only inside the caller's scope (row-level security,
-- like the registry).  Money is whole đồng in bigint, each entry at most
-- 10^12; sums are taken as numeric where many entries add up (see the
-- functions below), so no total can overflow.
--
-- Earmarked money (có mục đích, có địa chỉ cụ thể) is kept apart: a payment
-- carries the earmark of its pledge (a child or a purpose), and only a
-- disbursement to that earmark may spend it.

CREATE TABLE fund_donors (
    id                      uuid PRIMARY KEY,
    unit_id                 bigint NOT NULL REFERENCES units (id),
    kind                    text NOT NULL CHECK (kind IN ('individual', 'organization',
                                                          'business')),
    name                    text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    phone                   text CHECK (length(phone) <= 20),
    address                 text CHECK (length(address) <= 500),
    anonymous_in_disclosure boolean NOT NULL DEFAULT false,
    version                 bigint NOT NULL DEFAULT 1,
    created_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL
);
CREATE INDEX fund_donors_unit ON fund_donors (unit_id, id);

-- A pledge's status is never stored: it is derived from its instalments and
-- the day (fund_pledge_status).  Cancelling stamps cancelled_on and keeps
-- everything paid.
CREATE TABLE fund_pledges (
    id               uuid PRIMARY KEY,
    donor_id         uuid NOT NULL REFERENCES fund_donors (id),
    unit_id          bigint NOT NULL REFERENCES units (id),
    year             smallint NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    amount_vnd       bigint NOT NULL CHECK (amount_vnd BETWEEN 1 AND 1000000000000),
    pledged_on       date NOT NULL,
    earmark_child_id uuid REFERENCES children (id),
    earmark_purpose  text CHECK (length(earmark_purpose) BETWEEN 1 AND 200),
    note             text CHECK (length(note) <= 4000),
    cancelled_on     date,
    cancel_reason    text CHECK (length(cancel_reason) <= 1000),
    version          bigint NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    CHECK (earmark_child_id IS NULL OR earmark_purpose IS NULL)
);
CREATE INDEX fund_pledges_unit ON fund_pledges (unit_id, year, id);
CREATE INDEX fund_pledges_donor ON fund_pledges (donor_id);

-- What is due when, and how much of it has been paid.  The reminders job
-- reads instalments due soon or overdue through fund_instalments_due.
CREATE TABLE fund_instalments (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pledge_id  uuid NOT NULL REFERENCES fund_pledges (id),
    due_on     date NOT NULL,
    amount_vnd bigint NOT NULL CHECK (amount_vnd BETWEEN 1 AND 1000000000000),
    paid_vnd   bigint NOT NULL DEFAULT 0 CHECK (paid_vnd >= 0 AND paid_vnd <= amount_vnd)
);
CREATE INDEX fund_instalments_pledge ON fund_instalments (pledge_id, due_on, id);
CREATE INDEX fund_instalments_due ON fund_instalments (due_on) WHERE paid_vnd < amount_vnd;

-- Money (or valued goods) received.  Against a pledge, applied_vnd went to
-- its instalments and overpaid_vnd is what exceeded them: still raised,
-- never lost.  The year is the year of received_on: receipt numbers run
-- per unit and calendar year.
CREATE TABLE fund_payments (
    id                  uuid PRIMARY KEY,
    unit_id             bigint NOT NULL REFERENCES units (id),
    year                smallint NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    pledge_id           uuid REFERENCES fund_pledges (id),
    donor_id            uuid REFERENCES fund_donors (id),
    amount_vnd          bigint NOT NULL CHECK (amount_vnd BETWEEN 1 AND 1000000000000),
    applied_vnd         bigint NOT NULL DEFAULT 0 CHECK (applied_vnd >= 0),
    overpaid_vnd        bigint NOT NULL DEFAULT 0 CHECK (overpaid_vnd >= 0),
    received_on         date NOT NULL,
    method              text NOT NULL CHECK (method IN ('cash', 'bank_transfer', 'in_kind')),
    in_kind_description text CHECK (length(in_kind_description) BETWEEN 1 AND 1000),
    receipt_no          text NOT NULL CHECK (length(receipt_no) BETWEEN 1 AND 50),
    earmark_child_id    uuid REFERENCES children (id),
    earmark_purpose     text CHECK (length(earmark_purpose) BETWEEN 1 AND 200),
    note                text CHECK (length(note) <= 4000),
    version             bigint NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL,
    CONSTRAINT fund_payments_receipt_unique UNIQUE (unit_id, year, receipt_no),
    CHECK (applied_vnd + overpaid_vnd = amount_vnd OR pledge_id IS NULL),
    CHECK (pledge_id IS NOT NULL OR (applied_vnd = 0 AND overpaid_vnd = 0)),
    CHECK ((method = 'in_kind') = (in_kind_description IS NOT NULL)),
    CHECK (earmark_child_id IS NULL OR earmark_purpose IS NULL)
);
CREATE INDEX fund_payments_unit ON fund_payments (unit_id, year, id);
CREATE INDEX fund_payments_pledge ON fund_payments (pledge_id);

CREATE TABLE fund_disbursements (
    id           uuid PRIMARY KEY,
    unit_id      bigint NOT NULL REFERENCES units (id),
    year         smallint NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    amount_vnd   bigint NOT NULL CHECK (amount_vnd BETWEEN 1 AND 1000000000000),
    disbursed_on date NOT NULL,
    decision_no  text NOT NULL CHECK (length(decision_no) BETWEEN 1 AND 100),
    purpose      text NOT NULL CHECK (length(purpose) BETWEEN 1 AND 200),
    child_id     uuid REFERENCES children (id),
    earmarked    boolean NOT NULL DEFAULT false,
    in_kind      boolean NOT NULL DEFAULT false,  -- goods handed out, at their value
    note         text CHECK (length(note) <= 4000),
    version      bigint NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL
);
CREATE INDEX fund_disbursements_unit ON fund_disbursements (unit_id, year, id);

ALTER TABLE fund_donors ENABLE ROW LEVEL SECURITY;
CREATE POLICY fund_donors_in_scope ON fund_donors
    USING (unit_id IN (SELECT id FROM scope_units()))
    WITH CHECK (unit_id IN (SELECT id FROM scope_units()));
ALTER TABLE fund_pledges ENABLE ROW LEVEL SECURITY;
CREATE POLICY fund_pledges_in_scope ON fund_pledges
    USING (unit_id IN (SELECT id FROM scope_units()))
    WITH CHECK (unit_id IN (SELECT id FROM scope_units()));
ALTER TABLE fund_instalments ENABLE ROW LEVEL SECURITY;
CREATE POLICY fund_instalments_in_scope ON fund_instalments
    USING (pledge_id IN (SELECT id FROM fund_pledges));
ALTER TABLE fund_payments ENABLE ROW LEVEL SECURITY;
CREATE POLICY fund_payments_in_scope ON fund_payments
    USING (unit_id IN (SELECT id FROM scope_units()))
    WITH CHECK (unit_id IN (SELECT id FROM scope_units()));
ALTER TABLE fund_disbursements ENABLE ROW LEVEL SECURITY;
CREATE POLICY fund_disbursements_in_scope ON fund_disbursements
    USING (unit_id IN (SELECT id FROM scope_units()))
    WITH CHECK (unit_id IN (SELECT id FROM scope_units()));

-- Fund writes go to the change feed as `fund` entries, which hang off no
-- child (the API shows them to district officers and admins only).
ALTER TABLE change_log ALTER COLUMN child_id DROP NOT NULL;
ALTER TABLE change_log DROP CONSTRAINT change_log_resource_type_check;
ALTER TABLE change_log ADD CONSTRAINT change_log_resource_type_check
    CHECK (resource_type IN ('children', 'circumstances', 'risks', 'supports', 'cases',
                             'fund'));

GRANT SELECT, INSERT, UPDATE ON fund_donors, fund_pledges, fund_instalments TO baove_app;
GRANT DELETE ON fund_instalments TO baove_app;  -- unpaid instalments replaced by an edit
GRANT SELECT, INSERT ON fund_payments, fund_disbursements TO baove_app;
GRANT INSERT, UPDATE ON fund_targets TO baove_app;

-- ---- derived state and documents -------------------------------------------

-- pending (nothing paid, nothing late), in_progress (something paid),
-- completed (all paid), overdue (an instalment past due and unpaid on
-- `today`, the district's date), cancelled.
CREATE FUNCTION fund_pledge_status(pledge fund_pledges, today date) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT CASE
        WHEN pledge.cancelled_on IS NOT NULL THEN 'cancelled'
        WHEN bool_and(i.paid_vnd = i.amount_vnd) THEN 'completed'
        WHEN bool_or(i.paid_vnd < i.amount_vnd AND i.due_on < today) THEN 'overdue'
        WHEN bool_or(i.paid_vnd > 0) THEN 'in_progress'
        ELSE 'pending' END
      FROM fund_instalments i WHERE i.pledge_id = pledge.id
    $$;

CREATE FUNCTION fund_earmark(child_id uuid, purpose text) RETURNS json
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE WHEN child_id IS NOT NULL THEN json_build_object('child_id', child_id)
                WHEN purpose IS NOT NULL THEN json_build_object('purpose', purpose) END
    $$;

CREATE FUNCTION fund_donor_document(donor fund_donors) RETURNS json
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

-- A pledge's sums are over at most its instalments (each ≤ 10^12, their
-- total = the pledge's amount ≤ 10^12): bigint is safe.
CREATE FUNCTION fund_pledge_document(pledge fund_pledges, today date) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT json_build_object(
        'id', pledge.id,
        'donor_id', pledge.donor_id,
        'unit', (SELECT code FROM units WHERE units.id = pledge.unit_id),
        'year', pledge.year,
        'amount_vnd', pledge.amount_vnd,
        'pledged_on', pledge.pledged_on,
        'earmark', fund_earmark(pledge.earmark_child_id, pledge.earmark_purpose),
        'note', pledge.note,
        'instalments', (SELECT coalesce(json_agg(json_build_object(
                            'due_on', i.due_on, 'amount_vnd', i.amount_vnd,
                            'paid_vnd', i.paid_vnd,
                            'status', CASE WHEN i.paid_vnd = i.amount_vnd THEN 'paid'
                                           WHEN i.due_on < today THEN 'overdue'
                                           ELSE 'open' END)
                            ORDER BY i.due_on, i.id), '[]')
                          FROM fund_instalments i WHERE i.pledge_id = pledge.id),
        'paid_vnd', (SELECT coalesce(sum(i.paid_vnd), 0)::bigint
                       FROM fund_instalments i WHERE i.pledge_id = pledge.id),
        'outstanding_vnd', CASE WHEN pledge.cancelled_on IS NOT NULL THEN 0 ELSE
                           (SELECT coalesce(sum(i.amount_vnd - i.paid_vnd), 0)::bigint
                              FROM fund_instalments i WHERE i.pledge_id = pledge.id) END,
        'overpaid_vnd', (SELECT coalesce(sum(p.overpaid_vnd), 0)::bigint
                           FROM fund_payments p WHERE p.pledge_id = pledge.id),
        'status', fund_pledge_status(pledge, today),
        'cancelled_on', pledge.cancelled_on,
        'cancel_reason', pledge.cancel_reason,
        'version', pledge.version,
        'created_at', rfc3339(pledge.created_at),
        'updated_at', rfc3339(pledge.updated_at))
    $$;

CREATE FUNCTION fund_payment_document(payment fund_payments) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT json_build_object(
        'id', payment.id,
        'pledge_id', payment.pledge_id,
        'donor_id', payment.donor_id,
        'unit', (SELECT code FROM units WHERE units.id = payment.unit_id),
        'year', payment.year,
        'amount_vnd', payment.amount_vnd,
        'applied_vnd', payment.applied_vnd,
        'overpaid_vnd', payment.overpaid_vnd,
        'received_on', payment.received_on,
        'method', payment.method,
        'in_kind_description', payment.in_kind_description,
        'receipt_no', payment.receipt_no,
        'earmark', fund_earmark(payment.earmark_child_id, payment.earmark_purpose),
        'note', payment.note,
        'created_at', rfc3339(payment.created_at))
    $$;

CREATE FUNCTION fund_disbursement_document(disbursement fund_disbursements) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT json_build_object(
        'id', disbursement.id,
        'unit', (SELECT code FROM units WHERE units.id = disbursement.unit_id),
        'year', disbursement.year,
        'amount_vnd', disbursement.amount_vnd,
        'disbursed_on', disbursement.disbursed_on,
        'decision_no', disbursement.decision_no,
        'purpose', disbursement.purpose,
        'child_id', disbursement.child_id,
        'earmarked', disbursement.earmarked,
        'in_kind', disbursement.in_kind,
        'note', disbursement.note,
        'created_at', rfc3339(disbursement.created_at))
    $$;

-- What is left in one pool of a unit's books: the general pool (both
-- earmark arguments NULL), a child's, or a purpose's; money, or goods
-- received in kind (valued), which only a disbursement of goods hands out:
-- a gift of exercise books never pays a cash grant.  Sums as numeric: no
-- count of entries can overflow them; the result fits bigint as long as
-- the books do not hold more than 9.2 × 10^18 đồng.
CREATE FUNCTION fund_pool_balance(pool_unit bigint, pool_child uuid, pool_purpose text,
                                  pool_in_kind boolean)
    RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT ((SELECT coalesce(sum(p.amount_vnd), 0) FROM fund_payments p
              WHERE p.unit_id = pool_unit
                AND p.earmark_child_id IS NOT DISTINCT FROM pool_child
                AND p.earmark_purpose IS NOT DISTINCT FROM pool_purpose
                AND (p.method = 'in_kind') = pool_in_kind)
          - (SELECT coalesce(sum(d.amount_vnd), 0) FROM fund_disbursements d
              WHERE d.unit_id = pool_unit
                AND d.earmarked = (pool_child IS NOT NULL OR pool_purpose IS NOT NULL)
                AND (pool_child IS NULL OR d.child_id = pool_child)
                AND (pool_purpose IS NULL
                     OR (d.child_id IS NULL AND d.purpose = pool_purpose))
                AND d.in_kind = pool_in_kind))::bigint
    $$;

-- Per unit, its own books only (not rolled up), for the summary and the
-- indicators: the target of the year; pledged = pledges of the year made on
-- or before as_of and not cancelled by then; raised = payments of the year
-- received on or before as_of (cash and valued goods, overpayments
-- included).  Sums as numeric (no overflow whatever the row count), cast
-- back to bigint.  SECURITY DEFINER: the indicators job reads every unit.
CREATE FUNCTION fund_unit_figures(year integer, as_of date)
    RETURNS TABLE (unit_id bigint, target_vnd bigint, pledged_vnd bigint, raised_vnd bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    WITH units_of_year AS (
        SELECT t.unit_id FROM fund_targets t WHERE t.year = fund_unit_figures.year
        UNION SELECT p.unit_id FROM fund_pledges p WHERE p.year = fund_unit_figures.year
        UNION SELECT p.unit_id FROM fund_payments p WHERE p.year = fund_unit_figures.year)
    SELECT u.unit_id,
           coalesce((SELECT t.amount_vnd FROM fund_targets t
                      WHERE t.year = fund_unit_figures.year AND t.unit_id = u.unit_id), 0),
           (SELECT coalesce(sum(p.amount_vnd), 0) FROM fund_pledges p
             WHERE p.unit_id = u.unit_id AND p.year = fund_unit_figures.year
               AND p.pledged_on <= as_of
               AND (p.cancelled_on IS NULL OR p.cancelled_on > as_of))::bigint,
           (SELECT coalesce(sum(p.amount_vnd), 0) FROM fund_payments p
             WHERE p.unit_id = u.unit_id AND p.year = fund_unit_figures.year
               AND p.received_on <= as_of)::bigint
      FROM units_of_year u
    $$;
REVOKE ALL ON FUNCTION fund_unit_figures(integer, date) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION fund_pledge_status(fund_pledges, date), fund_earmark(uuid, text),
    fund_donor_document(fund_donors), fund_pledge_document(fund_pledges, date),
    fund_payment_document(fund_payments), fund_disbursement_document(fund_disbursements),
    fund_pool_balance(bigint, uuid, text, boolean), fund_unit_figures(integer, date) TO baove_app;

-- Targets get a version, for the change feed.
ALTER TABLE fund_targets ADD COLUMN version bigint NOT NULL DEFAULT 1;

-- The name a receipt shows in the public statement (công khai): the
-- donor's, unless the donor asked to stay anonymous or none was recorded.
-- SECURITY DEFINER: a commune's statement names a donor registered at the
-- district, whom the commune's readers cannot otherwise see; only this
-- public name leaves (never phone or address).
CREATE FUNCTION fund_disclosed_donor(donor uuid) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    SELECT coalesce((SELECT CASE WHEN d.anonymous_in_disclosure THEN NULL ELSE d.name END
                       FROM fund_donors d WHERE d.id = donor), 'Nhà hảo tâm ẩn danh')
    $$;
REVOKE ALL ON FUNCTION fund_disclosed_donor(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fund_disclosed_donor(uuid) TO baove_app;

-- One unit's (or a subtree's, without unit and name) figures in the
-- summary.  Sums arrive as numeric; each fits bigint for any real books.
CREATE FUNCTION fund_figures(code text, name text, target numeric, pledged numeric,
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
GRANT EXECUTE ON FUNCTION fund_figures(text, text, numeric, numeric, numeric, numeric, numeric,
                                       numeric, numeric, numeric, numeric) TO baove_app;

-- Instalments for reminders: unpaid, of pledges not cancelled, due on or
-- before as_of + within_days (so overdue ones too).  SECURITY DEFINER: the
-- worker has no scope, and row-level security would hide every row.  No
-- personal data beyond ids: the job reads the donor through its own means.
CREATE FUNCTION fund_instalments_due(as_of date, within_days integer)
    RETURNS TABLE (instalment_id bigint, pledge_id uuid, unit_id bigint, donor_id uuid,
                   due_on date, amount_vnd bigint, paid_vnd bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    SELECT i.id, i.pledge_id, p.unit_id, p.donor_id, i.due_on, i.amount_vnd, i.paid_vnd
      FROM fund_instalments i JOIN fund_pledges p ON p.id = i.pledge_id
     WHERE i.paid_vnd < i.amount_vnd AND p.cancelled_on IS NULL
       AND i.due_on <= as_of + within_days
     ORDER BY i.due_on, i.id
    $$;
REVOKE ALL ON FUNCTION fund_instalments_due(date, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fund_instalments_due(date, integer) TO baove_app;
