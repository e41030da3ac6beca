-- A lived-in demo (`baove-admin seed --demo`): a plausible current year for
-- the communes of today, so that a newcomer's first screens are not empty.
-- Nothing here is real personal data.
--
-- Relative to `now` (BAOVE_NOW or the clock): the year of `now` in
-- Asia/Ho_Chi_Minh gets its plan through plan_put() when it has none
-- (csc_rate below 2.5 %, csc_supported_rate at least 95 %); about 2 000
-- children registered over the last years, about 2.5 % of them in special
-- circumstances and most of those supported; a few at risk; cases in
-- several workflow states, with assignees, notes and deadlines; donors,
-- pledges with their instalments, payments applied to them and a few
-- disbursements.
--
-- Deterministic and idempotent: every id is md5() of a fixed text, the
-- year and a number, every choice a draw from another md5(), and every
-- insert ON CONFLICT DO NOTHING, with what hangs off a record inserted only
-- for records this call created: a second call in the same year adds
-- nothing.  One set-based statement per table.  Children, circumstances,
-- risks and supports leave their change-log rows, like any write, so the
-- feed carries them.  Returns {"plan": written?, "children": n, ...}: what
-- this call created; {"skipped": reason} when today's tree lacks the units.
CREATE OR REPLACE FUNCTION demo_lived_in(now timestamptz) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path = public, pg_temp
    AS $$
DECLARE
    today date := (now AT TIME ZONE 'Asia/Ho_Chi_Minh')::date;
    this_year smallint := extract(year FROM (now AT TIME ZONE 'Asia/Ho_Chi_Minh'))::smallint;
    -- A year's records stay apart from another year's: ids carry the year.
    tag text := 'baove-lived-in-' || extract(year FROM (now AT TIME ZONE 'Asia/Ho_Chi_Minh'));
    commune_codes text[] := ARRAY['29971', '29978', '29983', '29992', '30154'];
    communes bigint[];
    province bigint;
    problems jsonb;
    plan_written boolean := false;
    created jsonb := '{}';
    n bigint;
    paid uuid[];
BEGIN
    SELECT array_agg(u.id ORDER BY u.code) INTO communes
      FROM units u
     WHERE u.code = ANY (commune_codes) AND u.valid_from <= today
       AND (u.valid_to IS NULL OR u.valid_to >= today);
    SELECT u.id INTO province
      FROM units u
     WHERE u.code = '82' AND u.valid_from <= today AND (u.valid_to IS NULL OR u.valid_to >= today);
    IF province IS NULL OR cardinality(communes) IS DISTINCT FROM cardinality(commune_codes) THEN
        RETURN jsonb_build_object('skipped', format('the units of the demo are not valid on %s',
                                                    today));
    END IF;

    IF NOT EXISTS (SELECT FROM plans WHERE year = this_year) THEN
        problems := plan_put(this_year, jsonb_build_object(
            'title', format('Kế hoạch thực hiện Chương trình Bảo vệ trẻ em năm %s', this_year),
            'reference', format('12/KH-UBND-%s', this_year),
            'unit', '82',
            'targets', jsonb_build_array(
                jsonb_build_object('code', 'csc_rate', 'comparator', 'lt', 'numerator', 5,
                                   'denominator', 200, 'description',
                                   'Children in special circumstances below 2.5 % of all children'),
                jsonb_build_object('code', 'csc_supported_rate', 'comparator', 'ge',
                                   'numerator', 95, 'denominator', 100, 'description',
                                   'At least 95 % of children in special circumstances supported')),
            'fund_targets', jsonb_build_array(jsonb_build_object('unit', '82',
                                                                 'amount_vnd', 150000000))
                            || (SELECT jsonb_agg(jsonb_build_object('unit', c, 'amount_vnd',
                                                                    25000000) ORDER BY c)
                                  FROM unnest(commune_codes) c)), now);
        IF problems <> '[]' THEN
            RAISE EXCEPTION 'the demo plan of % was refused: %', this_year, problems;
        END IF;
        plan_written := true;
    END IF;

    -- Children: 2 000, spread over the communes, born 2009-2025, registered
    -- in the last three years (never before birth).
    CREATE TEMPORARY TABLE demo_children ON COMMIT DROP AS
    SELECT g, demo_uuid(h) AS id,
           communes[1 + ('x' || substr(d, 1, 8))::bit(32)::bigint % cardinality(communes)]
             AS unit_id,
           ('x' || substr(d, 9, 8))::bit(32)::bigint AS draw,
           ('x' || substr(d, 17, 8))::bit(32)::bigint AS other_draw
      FROM generate_series(1, 2000) g
     CROSS JOIN LATERAL (SELECT md5(tag || '-child-' || g) AS h,
                                md5(tag || '-child-draws-' || g) AS d) x;

    WITH plan AS (
        SELECT c.*, CASE WHEN c.draw % 2 = 0 THEN 'male' ELSE 'female' END AS sex,
               (ARRAY['Nguyễn', 'Trần', 'Lê', 'Phạm', 'Huỳnh', 'Võ', 'Phan', 'Đặng'])
                 [1 + c.draw / 2 % 8] || ' '
               || CASE WHEN c.draw % 2 = 0
                       THEN (ARRAY['Văn', 'Minh', 'Quốc', 'Gia'])[1 + c.draw / 16 % 4] || ' '
                            || (ARRAY['An', 'Bình', 'Dũng', 'Hải', 'Khang', 'Long', 'Nam',
                                      'Phúc', 'Tuấn'])[1 + c.draw / 64 % 9]
                       ELSE (ARRAY['Thị', 'Ngọc', 'Kim', 'Thanh'])[1 + c.draw / 16 % 4] || ' '
                            || (ARRAY['Chi', 'Hà', 'Lan', 'Linh', 'Mai', 'Nhi', 'Thảo', 'Vy',
                                      'Yến'])[1 + c.draw / 64 % 9] END AS full_name,
               make_date(this_year - 17, 1, 2) + (c.other_draw % (365 * 17))::integer
                 AS date_of_birth
          FROM demo_children c
    ), inserted AS (
        INSERT INTO children (id, unit_id, hamlet, full_name, search_name, sex, date_of_birth,
                              ethnicity, guardians, household_poverty_status, registered_on,
                              version, created_at, updated_at)
        SELECT id, unit_id, 'Ấp ' || (1 + draw / 1000 % 5), full_name, search_fold(full_name),
               sex, date_of_birth, CASE WHEN draw / 7 % 50 = 0 THEN 'Khmer' ELSE 'Kinh' END,
               '[]', CASE WHEN draw / 11 % 100 < 5 THEN 'poor'
                          WHEN draw / 11 % 100 < 12 THEN 'near_poor' ELSE 'none' END,
               greatest(date_of_birth, today - (other_draw / 7 % 1000)::integer), 1, now, now
          FROM plan
        ON CONFLICT (id) DO NOTHING
        RETURNING children.*
    ), logged AS (
        INSERT INTO change_log (resource_type, resource_id, child_id, unit_id, operation,
                                version, record)
        SELECT 'children', i.id, i.id, i.unit_id, 'create', 1, child_document(i, today)::jsonb
          FROM inserted i ORDER BY i.id
        RETURNING 1
    )
    SELECT count(*) INTO n FROM logged;
    created := created || jsonb_build_object('children', n);
    -- Only what this call created gets records: a rerun adds nothing.
    DELETE FROM demo_children c WHERE NOT EXISTS (
        SELECT FROM change_log l WHERE l.resource_id = c.id
           AND l.transaction_id = pg_current_xact_id());

    -- Special circumstances: 1 in 40 (the plan's 2.5 %), since last year.
    WITH inserted AS (
        INSERT INTO child_circumstances (id, child_id, "group", subgroup, since, version,
                                         created_at, updated_at)
        SELECT demo_uuid(md5(tag || '-circumstance-' || c.g)), c.id, s.group_key, s.key,
               greatest(ch.date_of_birth, today - 300 + (c.draw / 13 % 250)::integer), 1, now, now
          FROM demo_children c
          JOIN children ch ON ch.id = c.id
         CROSS JOIN LATERAL (
               SELECT sg.group_key, sg.key FROM circumstance_subgroups sg
                WHERE sg.group_key IN ('a', 'b', 'c')
                ORDER BY sg.group_key, sg.key
                OFFSET c.draw / 17 % 5 LIMIT 1) s
         WHERE c.draw / 3 % 40 = 0
        ON CONFLICT (id) DO NOTHING
        RETURNING *
    ), logged AS (
        INSERT INTO change_log (resource_type, resource_id, child_id, unit_id, operation,
                                version, record)
        SELECT 'circumstances', r.id, r.child_id, ch.unit_id, 'create', 1,
               demo_record_document(to_jsonb(r))
          FROM inserted r JOIN children ch ON ch.id = r.child_id
        RETURNING 1
    )
    SELECT count(*) INTO n FROM logged;
    created := created || jsonb_build_object('circumstances', n);

    -- Supports: nine in ten children in special circumstances have one.
    WITH inserted AS (
        INSERT INTO child_supports (id, child_id, kind, level, provider_sector, provided_on,
                                    value_vnd, funded_by_fund, version, created_at, updated_at)
        SELECT demo_uuid(md5(tag || '-support-' || c.g)), c.id,
               (ARRAY['material_aid', 'health_insurance_card', 'education_support'])
                 [1 + c.draw / 19 % 3], 'support', 'labour',
               least(today, r.since + 30), 100000 * (3 + c.draw / 23 % 10), c.draw / 29 % 2 = 0,
               1, now, now
          FROM demo_children c JOIN child_circumstances r
            ON r.id = demo_uuid(md5(tag || '-circumstance-' || c.g))
         WHERE c.draw / 31 % 10 <> 0
        ON CONFLICT (id) DO NOTHING
        RETURNING *
    ), logged AS (
        INSERT INTO change_log (resource_type, resource_id, child_id, unit_id, operation,
                                version, record)
        SELECT 'supports', r.id, r.child_id, ch.unit_id, 'create', 1,
               demo_record_document(to_jsonb(r))
          FROM inserted r JOIN children ch ON ch.id = r.child_id
        RETURNING 1
    )
    SELECT count(*) INTO n FROM logged;
    created := created || jsonb_build_object('supports', n);

    -- At risk: 1 in 200, since this year began.
    WITH inserted AS (
        INSERT INTO child_risks (id, child_id, category, since, version, created_at, updated_at)
        SELECT demo_uuid(md5(tag || '-risk-' || c.g)), c.id,
               (ARRAY['violence', 'sexual_abuse', 'exploitation'])[1 + c.draw / 37 % 3],
               greatest(ch.date_of_birth, make_date(this_year, 1, 1)), 1, now, now
          FROM demo_children c JOIN children ch ON ch.id = c.id
         WHERE c.other_draw / 3 % 200 = 0
        ON CONFLICT (id) DO NOTHING
        RETURNING *
    ), logged AS (
        INSERT INTO change_log (resource_type, resource_id, child_id, unit_id, operation,
                                version, record)
        SELECT 'risks', r.id, r.child_id, ch.unit_id, 'create', 1,
               demo_record_document(to_jsonb(r))
          FROM inserted r JOIN children ch ON ch.id = r.child_id
        RETURNING 1
    )
    SELECT count(*) INTO n FROM logged;
    created := created || jsonb_build_object('risks', n);

    -- Cases: twelve, received over the last four months, one per status
    -- step along the workflow, each with its history of receipt.
    WITH picked AS (
        SELECT c.*, row_number() OVER (ORDER BY c.g) AS k
          FROM demo_children c WHERE c.other_draw / 5 % 100 = 0
         ORDER BY c.g LIMIT 12
    ), inserted AS (
        INSERT INTO cases (id, child_id, unit_id, received_at, source, concerns, summary, status,
                           serious_risk, closed_reason, version, created_at, updated_at)
        SELECT demo_uuid(md5(tag || '-case-' || p.g)), p.id, p.unit_id,
               now - make_interval(days => (10 * p.k)::integer),
               (ARRAY['hotline_111', 'school', 'community', 'police'])[1 + p.k % 4],
               ARRAY[(ARRAY['violence', 'neglect', 'sexual_abuse', 'exploitation'])
                       [1 + p.draw / 41 % 4]],
               'Tin báo (dữ liệu mẫu): trẻ cần được đánh giá và hỗ trợ.',
               (ARRAY['received', 'initial_assessed', 'detailed_assessed', 'plan_submitted',
                      'plan_approved', 'in_progress', 'reviewed', 'closed'])[1 + (p.k - 1) % 8],
               CASE WHEN p.k % 8 = 1 THEN NULL ELSE p.k % 3 = 0 END,
               CASE WHEN p.k % 8 = 0 THEN 'safe_and_stable' END, 1,
               now - make_interval(days => (10 * p.k)::integer), now
          FROM picked p
        ON CONFLICT (id) DO NOTHING
        RETURNING *
    ), history AS (
        INSERT INTO case_history (case_id, at, actor, action, to_status, note)
        SELECT i.id, i.received_at, 'demo', 'received', 'received', 'dữ liệu mẫu'
          FROM inserted i
        UNION ALL
        SELECT i.id, i.received_at + interval '1 day', 'demo', 'transition', 'received',
               i.status FROM inserted i WHERE i.status <> 'received'
        RETURNING 1
    )
    SELECT count(*) INTO n FROM inserted;
    created := created || jsonb_build_object('cases', n);

    -- Each case past its receipt has an assignee (the commune's demo officer
    -- in her commune, the province's elsewhere; none when the demo users are
    -- not seeded) and two notes; its deadlines follow its step, met up to
    -- it, pending (or missed, for the older cases) at it, counted in
    -- calendar days from the receipt (the real ones count working days:
    -- cases/deadlines.c): emergency 12 hours when serious, plan 10 days,
    -- approval 13, review 60.
    CREATE TEMPORARY TABLE demo_cases ON COMMIT DROP AS
    SELECT c.id, c.unit_id, c.received_at, c.status, c.serious_risk,
           array_position(ARRAY['received', 'initial_assessed', 'detailed_assessed',
                                'plan_submitted', 'plan_approved', 'in_progress', 'reviewed',
                                'closed'], c.status) AS step,
           coalesce((SELECT p.id FROM principals p
                      WHERE p.username = 'demo_commune' AND p.unit_id = c.unit_id),
                    (SELECT p.id FROM principals p WHERE p.username = 'demo_district'))
             AS assignee
      FROM cases c
     WHERE c.id IN (SELECT demo_uuid(md5(tag || '-case-' || d.g)) FROM demo_children d)
       AND c.version = 1 AND c.assigned_to IS NULL
       AND NOT EXISTS (SELECT FROM case_notes n WHERE n.case_id = c.id);

    WITH assigned AS (
        UPDATE cases c SET assigned_to = d.assignee
          FROM demo_cases d
         WHERE c.id = d.id AND d.step > 1 AND d.assignee IS NOT NULL
        RETURNING c.id, c.received_at, c.assigned_to
    ), history AS (
        INSERT INTO case_history (case_id, at, actor, action, note)
        SELECT a.id, a.received_at + interval '2 hours', 'demo', 'assigned', p.username
          FROM assigned a JOIN principals p ON p.id = a.assigned_to
        RETURNING 1
    )
    SELECT count(*) INTO n FROM history;
    created := created || jsonb_build_object('assigned', n);

    INSERT INTO case_notes (id, case_id, author, text, created_at)
    SELECT demo_uuid(md5(tag || '-note-' || d.id || '-' || k)), d.id, 'demo',
           (ARRAY['Đã liên hệ gia đình và nhà trường (dữ liệu mẫu).',
                  'Cộng tác viên ấp đến thăm trẻ; trẻ an toàn (dữ liệu mẫu).'])[k],
           least(now, d.received_at + make_interval(days => 3 * k))
      FROM demo_cases d CROSS JOIN generate_series(1, 2) k
     WHERE d.step > 1
    ON CONFLICT (id) DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    created := created || jsonb_build_object('notes', n);

    INSERT INTO case_deadlines (case_id, kind, due_at, met_at)
    SELECT d.id, x.kind, d.received_at + x.due_after,
           CASE WHEN d.step > x.met_after_step
                THEN least(now, d.received_at + x.due_after / 2) END
      FROM demo_cases d
      JOIN (VALUES ('emergency', interval '12 hours', 1, 1),
                   ('plan_submission', interval '10 days', 3, 3),
                   ('plan_approval', interval '13 days', 4, 4),
                   ('review', interval '60 days', 5, 6))
           x (kind, due_after, from_step, met_after_step)
        ON d.step >= x.from_step
     WHERE x.kind <> 'emergency' OR coalesce(d.serious_risk, false)
    ON CONFLICT (case_id, kind) DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    created := created || jsonb_build_object('deadlines', n);

    -- Fund: fifteen donors in the province's and the communes' books; a
    -- pledge from each of the first ten in two instalments (the first due
    -- two months ago); payments from six of them, applied to their pledges.
    WITH inserted AS (
        INSERT INTO fund_donors (id, unit_id, kind, name, phone, version, created_at, updated_at)
        SELECT demo_uuid(md5(tag || '-donor-' || g)),
               CASE WHEN g <= 5 THEN province ELSE communes[1 + g % cardinality(communes)] END,
               (ARRAY['individual', 'organization', 'business'])[1 + g % 3],
               (ARRAY['Ông', 'Công ty TNHH', 'Doanh nghiệp'])[1 + g % 3] || ' Mẫu ' || g,
               '09' || lpad((g * 7919 % 100000000)::text, 8, '0'), 1, now, now
          FROM generate_series(1, 15) g
        ON CONFLICT (id) DO NOTHING
        RETURNING 1
    )
    SELECT count(*) INTO n FROM inserted;
    created := created || jsonb_build_object('donors', n);

    WITH inserted AS (
        INSERT INTO fund_pledges (id, donor_id, unit_id, year, amount_vnd, pledged_on, version,
                                  created_at, updated_at)
        SELECT demo_uuid(md5(tag || '-pledge-' || d.g)), d.id, d.unit_id, this_year,
               2000000 * d.g, greatest(make_date(this_year, 1, 1), today - 90), 1, now, now
          FROM (SELECT g, demo_uuid(md5(tag || '-donor-' || g)) AS id,
                       (SELECT unit_id FROM fund_donors
                         WHERE id = demo_uuid(md5(tag || '-donor-' || g))) AS unit_id
                  FROM generate_series(1, 10) g) d
        ON CONFLICT (id) DO NOTHING
        RETURNING *
    ), instalments AS (
        INSERT INTO fund_instalments (pledge_id, due_on, amount_vnd)
        SELECT i.id, x.due_on, x.amount
          FROM inserted i
         CROSS JOIN LATERAL (VALUES (i.pledged_on + 30, i.amount_vnd / 2),
                                    (i.pledged_on + 120, i.amount_vnd - i.amount_vnd / 2))
               x (due_on, amount)
        RETURNING 1
    )
    SELECT count(*) INTO n FROM inserted;
    created := created || jsonb_build_object('pledges', n);

    WITH inserted AS (
        INSERT INTO fund_payments (id, unit_id, year, pledge_id, donor_id, amount_vnd,
                                   applied_vnd, received_on, method, receipt_no, version,
                                   created_at)
        SELECT demo_uuid(md5(tag || '-payment-' || g)), p.unit_id, this_year, p.id, p.donor_id,
               p.amount_vnd / 2, p.amount_vnd / 2, least(today, p.pledged_on + 25),
               CASE WHEN g % 2 = 0 THEN 'bank_transfer' ELSE 'cash' END,
               format('DEMO-%s-%s', this_year, lpad(g::text, 3, '0')), 1, now
          FROM generate_series(1, 6) g
          JOIN fund_pledges p ON p.id = demo_uuid(md5(tag || '-pledge-' || g))
        ON CONFLICT DO NOTHING
        RETURNING id
    )
    SELECT array_agg(id) INTO paid FROM inserted;
    -- Applied in a statement of their own, which sees the new payments.
    SELECT count(fund_apply_payment(x)) INTO n FROM unnest(paid) x;
    created := created || jsonb_build_object('payments', n);

    -- Disbursements (chi quỹ) from what the province and a commune raised:
    -- gifts to supported children, one of them goods at their value.
    INSERT INTO fund_disbursements (id, unit_id, year, amount_vnd, disbursed_on, decision_no,
                                    purpose, child_id, in_kind, created_at)
    SELECT demo_uuid(md5(tag || '-disbursement-' || g)), u.unit_id, this_year,
           500000 * (g + 1),
           -- After the payments came in (25 days after the pledges).
           least(today, greatest(make_date(this_year, 1, 1), today - 90) + 25 + 5 * g),
           format('%s/QĐ-QBTTE-DEMO-%s', g, this_year),
           (ARRAY['Quà Tết cho trẻ em có hoàn cảnh đặc biệt', 'Học bổng cho trẻ em nghèo',
                  'Hỗ trợ khám chữa bệnh', 'Sách vở đầu năm học'])[g],
           -- The first three to a supported child each; the books to many.
           CASE WHEN g <= 3 THEN supported.child_id END, g = 4, now
      FROM generate_series(1, 4) g
      LEFT JOIN (SELECT s.child_id, row_number() OVER (ORDER BY c.g) AS k
                   FROM demo_children c
                   JOIN child_supports s ON s.id = demo_uuid(md5(tag || '-support-' || c.g)))
           supported ON supported.k = g
     CROSS JOIN LATERAL (
           SELECT CASE WHEN g <= 3 THEN province
                       ELSE (SELECT p.unit_id FROM fund_payments p
                              WHERE p.id = demo_uuid(md5(tag || '-payment-6'))) END
                  AS unit_id) u
     WHERE u.unit_id IS NOT NULL
    ON CONFLICT (id) DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    created := created || jsonb_build_object('disbursements', n);

    RETURN jsonb_build_object('plan', plan_written) || created;
END
$$;
