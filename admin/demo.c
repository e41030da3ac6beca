/* Synthetic demo data: `seed --demo --children N [--communes M]`.
 *
 * Made-up children (and made-up communes) in the tree valid today: under
 * Huyện Hồng Ngự (870) in its 2020 tree while 870 exists (BAOVE_NOW before
 * 1/7/2025), else under Tỉnh Đồng Tháp (82) in the tree of 1/7/2025, in
 * today's communes 29971, 29978, 29983, 29992 and 30154.  Each child comes
 * with special circumstances, supports and the change-log rows that any
 * write leaves, so that the API, the reports and the change feed can be
 * tried at a realistic size.  Nothing here is real personal data.
 *
 * Deterministic: every choice about child number g (1…N) comes from md5()
 * of a fixed text and g, computed by PostgreSQL, so the same N and M give
 * the same rows in the same tree on every server, and a rerun (or a run with a larger N)
 * inserts only what is missing: ids are derived from g, and every insert is
 * ON CONFLICT DO NOTHING.  The distribution of children over communes uses
 * the number of communes, so keep M when growing N.
 *
 * Fast: the rows are generated in SQL, one set-based statement per batch of
 * children rather than one round trip per row, each batch in its own
 * transaction.  All values travel as parameters; the statements are fixed
 * text. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "admin.h"
#include "db.h"

#define DEMO_BATCH 50000
/* Synthetic commune codes: 40000 upward.  Real GSO commune codes stop near
 * 33000, so these can never meet a real unit. */
#define DEMO_FIRST_CODE 40000
/* The tree the children live in: the unit their communes hang off (its
 * code and the day it began), the day of the tree, which is also the day
 * every demo record claims to have been written on (at 08:00) and the day
 * child documents in the change log are computed for; dates of birth,
 * registrations and circumstances are counted back from it. */
struct demo_tree {
    const char *parent_code;
    const char *parent_from;
    const char *day;
    const char *created_at;
};

static const struct demo_tree tree_of_2020 = {"870", "2000-01-01", "2020-01-01",
                                              "2020-01-01T08:00:00+07:00"};
static const struct demo_tree tree_since_2025 = {"82", "2025-07-01", "2025-07-01",
                                                 "2025-07-01T08:00:00+07:00"};

/* The communes the children live in: the parent's units valid on the tree's
 * day, less the synthetic ones beyond the first `count` (a larger M from an
 * earlier run must not change the spread).  `first` is the placeholder of
 * DEMO_FIRST_CODE, `max` that of ADMIN_DEMO_MAX_COMMUNES, `parent`,
 * `parent_from` and `day` those of the tree: the statements using this
 * number them differently. */
#define DEMO_COMMUNES_SQL(first, count, max, parent, parent_from, day)                      \
    "SELECT u.id, u.code, u.kind FROM units u "                                             \
    "  JOIN units district ON district.id = u.parent_id "                                   \
    " WHERE district.code = " parent " AND district.valid_from = " parent_from "::date "    \
    "   AND u.valid_from <= " day "::date "                                                 \
    "   AND (u.valid_to IS NULL OR u.valid_to >= " day "::date) "                           \
    "   AND (u.code::integer NOT BETWEEN " first "::integer "                               \
    "                              AND " first "::integer + " max "::integer - 1 "          \
    "        OR u.code::integer < " first "::integer + " count "::integer)"

/* A UUID from 32 hex digits, with the version (4) and variant bits set so
 * that strict parsers accept it. */
#define DEMO_UUID(hex)                                                                      \
    "(left(" hex ", 12) || '4' || substr(" hex ", 14, 3) || "                               \
    "translate(substr(" hex ", 17, 1), '0123456789abcdef', '89ab89ab89ab89ab') || "         \
    "substr(" hex ", 18))::uuid"

/* The change-log record of a child just inserted (in RETURNING), as
 * child_document(child, $7) would give it: the API's representation, the one
 * the feed carries for every other write.  Spelled out here because that
 * function cannot be inlined (it has sub-queries) and costs 30-40 µs a call,
 * half a minute per million children; every batch compares this copy with
 * the function on a sample of its rows (1 in 256) and fails if they
 * differ.  A new child has no consents
 * yet, hence the constant consent members. */
#define DEMO_CHILD_DOCUMENT                                                                 \
    "jsonb_build_object("                                                                   \
    "  'id', id, 'unit', (SELECT u.code FROM units u WHERE u.id = children.unit_id), "       \
    "  'hamlet', hamlet, 'full_name', full_name, 'sex', sex, "                              \
    "  'date_of_birth', date_of_birth, 'ethnicity', ethnicity, 'address', address, "        \
    "  'household_head', household_head, 'guardians', guardians, "                          \
    "  'household_poverty_status', household_poverty_status, "                              \
    "  'school_status', school_status, 'notes', notes, 'registered_on', registered_on, "    \
    "  'age', extract(year FROM age($7::date, date_of_birth))::integer, "                   \
    "  'under_16', age($7::date, date_of_birth) < interval '16 years', "                    \
    "  'consent', jsonb_build_object("                                                      \
    "      'child_consent_required', age($7::date, date_of_birth) >= interval '7 years', "  \
    "      'child_consented', false, 'parent_or_guardian_consented', false, "               \
    "      'legal_bases', '[]'::jsonb, 'complete', false), "                                \
    "  'version', version, 'created_at', rfc3339(created_at), "                             \
    "  'updated_at', rfc3339(updated_at))"

/* The change-log record of a circumstance or support row `r`, as the API
 * writes it (api/child_records.c): its columns, instants in RFC 3339. */
#define DEMO_RECORD_DOCUMENT                                                                \
    "(to_jsonb(r) - 'created_at' - 'updated_at') || "                                       \
    "jsonb_build_object('created_at', rfc3339(r.created_at), "                              \
    "                   'updated_at', rfc3339(r.updated_at))"

/* 32 random bits from a hex string at a 1-based offset. */
#define DEMO_DRAW(hex, offset) "('x' || substr(" hex ", " offset ", 8))::bit(32)::bigint"

static const char create_communes_sql[] =
    "INSERT INTO units (code, name, kind, parent_id, valid_from, valid_to) "
    "SELECT ($1::integer + i - 1)::text, 'Xã Thử Nghiệm ' || lpad(i::text, 5, '0'), "
    "       'commune', district.id, district.valid_from, NULL "
    "  FROM units district CROSS JOIN generate_series(1, $2::integer) i "
    " WHERE district.code = $3 AND district.valid_from = $4::date "
    "ON CONFLICT (code, valid_from) DO NOTHING";

static const char count_communes_sql[] =
    "SELECT count(*) FROM (" DEMO_COMMUNES_SQL("$1", "$2", "$5", "$3", "$4", "$6") ") c";

/* One batch: children $1…$2 and what hangs off them, with their change-log
 * rows.  $3–$5, $8 and $9 for DEMO_COMMUNES_SQL, $6 the instant of creation,
 * $7 the tree's day (child documents are computed for it).  Steps:
 *   lists   the name lists; a weighted list repeats each entry `weight`
 *           times, so a uniform index picks by weight;
 *   communes fixed-width arrays only: finding element k of an array of text
 *           walks the k before it, which with 10 000 communes dominated;
 *   seeds   three md5 per child (materialised, or every use of a draw would
 *           compute them again);
 *   drawn   named 32-bit draws cut from the seeds; the 2.5 % in special
 *           circumstances (draw % 1000 < 25) get two more md5 of draws;
 *   plan    every column of the child, and its circumstances and supports,
 *           decided together so that they agree: group n (illness in a
 *           poor or near-poor household) makes the household poor or
 *           near-poor and picks n1/n2 to match; groups a, b, c, o (no
 *           parents to rely on) leave only grandparents as guardians; groups
 *           e, g, h (conflict with the law, drugs, working instead of school)
 *           make the child 12 to 15;
 *   then the inserts, each ON CONFLICT DO NOTHING; circumstances, supports
 *   and change-log rows only for children created by this statement, so
 *   that a rerun adds nothing.
 * Returns the children, circumstances and supports created, and how many of
 * the sampled change-log records differ from child_document(). */
static const char batch_sql[] =
    "WITH lists AS MATERIALIZED ("
    "  SELECT (SELECT array_agg(f.name ORDER BY f.ord) "
    "            FROM (VALUES (1, 'Nguyễn', 30), (2, 'Trần', 11), (3, 'Lê', 9), (4, 'Phạm', 7), "
    "                         (5, 'Huỳnh', 6), (6, 'Võ', 6), (7, 'Phan', 5), (8, 'Trương', 4), "
    "                         (9, 'Lý', 4), (10, 'Bùi', 3), (11, 'Đặng', 3), (12, 'Đỗ', 3), "
    "                         (13, 'Ngô', 3), (14, 'Hồ', 3), (15, 'Dương', 3)) "
    "                 f (ord, name, weight) "
    "           CROSS JOIN generate_series(1, f.weight)) AS families, "
    "         ARRAY['Văn', 'Văn', 'Văn', 'Văn', 'Minh', 'Thanh', 'Hoàng', 'Gia', 'Bảo', 'Quốc'] "
    "           AS boy_middles, "
    "         ARRAY['Thị', 'Thị', 'Thị', 'Thị', 'Ngọc', 'Minh', 'Thanh', 'Gia', 'Bảo', 'Kim'] "
    "           AS girl_middles, "
    "         ARRAY['An', 'Bình', 'Dũng', 'Hải', 'Hiếu', 'Hùng', 'Khang', 'Khánh', 'Long', "
    "               'Nam', 'Phúc', 'Quân', 'Tâm', 'Tuấn'] AS boy_names, "
    "         ARRAY['An', 'Bình', 'Chi', 'Hà', 'Hạnh', 'Khánh', 'Lan', 'Linh', 'Mai', 'Ngân', "
    "               'Nhi', 'Phương', 'Tâm', 'Thảo', 'Thư', 'Trâm', 'Trinh', 'Vy', 'Yến'] "
    "           AS girl_names, "
    "         ARRAY['086', '096', '097', '098', '032', '033', '034', '035', '036', '037', "
    "               '038', '039', '088', '091', '094', '081', '082', '083', '084', '085', "
    "               '089', '090', '093', '070', '076', '077', '078', '079'] AS phone_prefixes, "
    "         (SELECT array_agg(w.key ORDER BY w.ord) "
    "            FROM (VALUES (1, 'd', 40), (2, 'n', 20), (3, 'a', 12), (4, 'c', 4), "
    "                         (5, 'h', 4), (6, 'b', 3), (7, 'e', 3), (8, 'i', 3), (9, 'l', 3), "
    "                         (10, 'đ', 2), (11, 'k', 2), (12, 'o', 2), (13, 'g', 1), "
    "                         (14, 'm', 1)) w (ord, key, weight) "
    "           CROSS JOIN generate_series(1, w.weight)) AS groups"
    "), communes AS MATERIALIZED ("
    "  SELECT array_agg(c.id ORDER BY c.code) AS ids, "
    "         array_agg(c.kind IN ('township', 'ward') ORDER BY c.code) AS townships "
    "    FROM (" DEMO_COMMUNES_SQL("$3", "$4", "$5", "$8", "$9", "$7") ") c"
    "), seeds AS MATERIALIZED ("
    "  SELECT g, md5('baove-demo-child-' || g) AS id_hex, "
    "         md5('baove-demo-child-draws-1-' || g) || md5('baove-demo-child-draws-2-' || g) || "
    "         md5('baove-demo-child-draws-3-' || g) AS h "
    "    FROM generate_series($1::bigint, $2::bigint) g"
    "), drawn AS MATERIALIZED ("
    "  SELECT g, id_hex, "
    "         " DEMO_DRAW("h", "1") " AS unit_draw, "
    "         " DEMO_DRAW("h", "9") " AS name_draw, "
    "         " DEMO_DRAW("h", "17") " AS birth_draw, "
    "         " DEMO_DRAW("h", "25") " AS home_draw, "
    "         " DEMO_DRAW("h", "33") " AS guardian_draw, "
    "         " DEMO_DRAW("h", "41") " AS parent_name_draw, "
    "         " DEMO_DRAW("h", "49") " AS grandparent_name_draw, "
    "         " DEMO_DRAW("h", "57") " AS phone_draw_1, "
    "         " DEMO_DRAW("h", "65") " AS phone_draw_2, "
    "         " DEMO_DRAW("h", "73") " AS csc_draw, "
    "         CASE WHEN " DEMO_DRAW("h", "73") " % 1000 < 25 "
    "              THEN md5('baove-demo-csc-draws-1-' || g) || md5('baove-demo-csc-draws-2-' || g) "
    "         END AS csc_hex "
    "    FROM seeds"
    "), plan AS MATERIALIZED ("
    "  SELECT d.g, " DEMO_UUID("d.id_hex") " AS id, "
    "         c.ids[1 + d.unit_draw % cardinality(c.ids)] AS unit_id, "
    "         CASE WHEN c.townships[1 + d.unit_draw % cardinality(c.ids)] "
    "              THEN 'Khóm ' ELSE 'Ấp ' END || (1 + d.home_draw % 6) AS hamlet, "
    "         p.sex, p.family || ' ' || p.middle || ' ' || p.given AS full_name, "
    "         ($7::date - interval '16 years' + interval '1 day')::date "
    "           + (d.birth_draw % CASE WHEN x.older THEN 1461 ELSE 5843 END)::integer "
    "           AS date_of_birth, "
    "         CASE WHEN d.home_draw / 6 % 100 < 97 THEN 'Kinh' "
    "              WHEN d.home_draw / 6 % 100 < 99 THEN 'Khmer' ELSE 'Hoa' END AS ethnicity, "
    "         CASE WHEN x.ill_and_poor THEN CASE WHEN d.home_draw / 60000 % 10 < 4 THEN 'poor' "
    "                                           ELSE 'near_poor' END "
    "              WHEN d.home_draw / 600 % 100 < 4 THEN 'poor' "
    "              WHEN d.home_draw / 600 % 100 < 10 THEN 'near_poor' "
    "              ELSE 'none' END AS poverty, "
    "         CASE WHEN x.without_parents THEN "
    "                   CASE WHEN d.guardian_draw / 100 % 2 = 0 "
    "                        THEN jsonb_build_array(k.grandmother) "
    "                        ELSE jsonb_build_array(k.grandfather, k.grandmother) END "
    "              WHEN d.guardian_draw % 100 < 50 THEN jsonb_build_array(k.mother, k.father) "
    "              WHEN d.guardian_draw % 100 < 72 THEN jsonb_build_array(k.mother) "
    "              WHEN d.guardian_draw % 100 < 84 THEN jsonb_build_array(k.father) "
    "              WHEN d.guardian_draw % 100 < 92 THEN jsonb_build_array(k.grandmother) "
    "              ELSE jsonb_build_array(k.mother, k.grandfather) END AS guardians, "
    "         gr.group_1, gr.group_2, cd.since_draw, cd.subgroup_draw, "
    "         CASE WHEN gr.group_1 IS NULL OR d.csc_draw / 100000 % 100 >= 95 THEN 0 "
    "              WHEN d.csc_draw / 10000000 % 10 < 6 THEN 1 ELSE 2 END AS support_count, "
    "         cd.support_kind_draw, cd.support_draw_1, cd.support_draw_2 "
    "    FROM drawn d CROSS JOIN lists l CROSS JOIN communes c "
    "   CROSS JOIN LATERAL ("
    "         SELECT " DEMO_DRAW("d.csc_hex", "1") " AS group_draw, "
    "                " DEMO_DRAW("d.csc_hex", "9") " AS since_draw, "
    "                " DEMO_DRAW("d.csc_hex", "17") " AS subgroup_draw, "
    "                " DEMO_DRAW("d.csc_hex", "25") " AS support_kind_draw, "
    "                " DEMO_DRAW("d.csc_hex", "33") " AS support_draw_1, "
    "                " DEMO_DRAW("d.csc_hex", "41") " AS support_draw_2) cd "
    /* The second group: for one in nine, a weighted draw, drawn once more
     * when it repeats the first, and none when it repeats it again (so
     * about one in ten ends up with two). */
    "   CROSS JOIN LATERAL ("
    "         SELECT l.groups[1 + cd.group_draw % 100] AS group_1, "
    "                l.groups[1 + cd.group_draw / 100 % 100] AS other_1, "
    "                l.groups[1 + cd.group_draw / 10000 % 100] AS other_2) g0 "
    "   CROSS JOIN LATERAL ("
    "         SELECT g0.group_1, "
    "                CASE WHEN d.csc_draw / 1000 % 100 < 11 THEN "
    "                     CASE WHEN g0.other_1 <> g0.group_1 THEN g0.other_1 "
    "                          WHEN g0.other_2 <> g0.group_1 THEN g0.other_2 END "
    "                END AS group_2) gr "
    "   CROSS JOIN LATERAL ("
    "         SELECT coalesce('n' IN (gr.group_1, gr.group_2), false) AS ill_and_poor, "
    "                coalesce(gr.group_1 IN ('e', 'g', 'h') OR gr.group_2 IN ('e', 'g', 'h'), "
    "                         false) AS older, "
    "                coalesce(gr.group_1 IN ('a', 'b', 'c', 'o') "
    "                         OR gr.group_2 IN ('a', 'b', 'c', 'o'), false) AS without_parents) x "
    /* Thị only for girls and Văn only for boys: the middle-name lists differ. */
    "   CROSS JOIN LATERAL ("
    "         SELECT CASE WHEN d.name_draw % 2 = 0 THEN 'male' ELSE 'female' END AS sex, "
    "                l.families[1 + d.name_draw / 2 % 100] AS family, "
    "                CASE WHEN d.name_draw % 2 = 0 "
    "                     THEN l.boy_middles[1 + d.name_draw / 200 % 10] "
    "                     ELSE l.girl_middles[1 + d.name_draw / 200 % 10] END AS middle, "
    "                CASE WHEN d.name_draw % 2 = 0 "
    "                     THEN l.boy_names[1 + d.name_draw / 2000 % 14] "
    "                     ELSE l.girl_names[1 + d.name_draw / 2000 % 19] END AS given) p "
    "   CROSS JOIN LATERAL ("
    "         SELECT l.phone_prefixes[1 + d.phone_draw_1 / 10000000 % 28] || "
    "                lpad((d.phone_draw_1 % 10000000)::text, 7, '0') AS phone_1, "
    "                l.phone_prefixes[1 + d.phone_draw_2 / 10000000 % 28] || "
    "                lpad((d.phone_draw_2 % 10000000)::text, 7, '0') AS phone_2) ph "
    /* Fathers and paternal grandfathers carry the child's family name. */
    "   CROSS JOIN LATERAL ("
    "         SELECT jsonb_build_object("
    "                  'name', p.family || ' ' || l.boy_middles[1 + d.parent_name_draw % 10] "
    "                          || ' ' || l.boy_names[1 + d.parent_name_draw / 10 % 14], "
    "                  'relation', 'father', 'phone', ph.phone_2) AS father, "
    "                jsonb_build_object("
    "                  'name', l.families[1 + d.parent_name_draw / 140 % 100] || ' ' "
    "                          || l.girl_middles[1 + d.parent_name_draw / 14000 % 10] || ' ' "
    "                          || l.girl_names[1 + d.parent_name_draw / 140000 % 19], "
    "                  'relation', 'mother', 'phone', ph.phone_1) AS mother, "
    "                jsonb_build_object("
    "                  'name', p.family || ' ' "
    "                          || l.boy_middles[1 + d.grandparent_name_draw % 10] || ' ' "
    "                          || l.boy_names[1 + d.grandparent_name_draw / 10 % 14], "
    "                  'relation', 'grandparent', 'phone', ph.phone_2) AS grandfather, "
    "                jsonb_build_object("
    "                  'name', l.families[1 + d.grandparent_name_draw / 140 % 100] || ' Thị ' "
    "                          || l.girl_names[1 + d.grandparent_name_draw / 14000 % 19], "
    "                  'relation', 'grandparent', 'phone', ph.phone_1) AS grandmother) k"
    "), new_children AS ("
    "  INSERT INTO children (id, unit_id, hamlet, full_name, search_name, sex, date_of_birth, "
    "                        ethnicity, guardians, household_poverty_status, registered_on, "
    "                        version, created_at, updated_at, deleted_at) "
    "  SELECT id, unit_id, hamlet, full_name, search_fold(full_name), sex, date_of_birth, "
    "         ethnicity, guardians, poverty, greatest($7::date, date_of_birth), 1, "
    "         $6::timestamptz, $6::timestamptz, NULL "
    "    FROM plan "
    "  ON CONFLICT (id) DO NOTHING "
    "  RETURNING id, unit_id, " DEMO_CHILD_DOCUMENT " AS record, "
    "            CASE WHEN right(id::text, 2) = '00' "
    "                 THEN child_document(children, $7::date)::jsonb END AS expected"
    "), csc AS ("
    "  SELECT p.* FROM plan p JOIN new_children n ON n.id = p.id WHERE p.group_1 IS NOT NULL"
    "), circumstance_rows AS ("
    "  SELECT s.g, x.k, s.id AS child_id, x.grp, "
    "         CASE WHEN x.grp = 'n' THEN CASE s.poverty WHEN 'poor' THEN 'n1' ELSE 'n2' END "
    "              ELSE sub.keys[1 + x.pick % cardinality(sub.keys)] END AS subgroup, "
    "         greatest(s.date_of_birth, ($7::date - interval '1 year')::date + x.day::integer) "
    "           AS since "
    "    FROM csc s "
    "   CROSS JOIN LATERAL (VALUES (1, s.group_1, s.since_draw % 426, s.subgroup_draw % 60), "
    "                              (2, s.group_2, s.since_draw / 426 % 426, "
    "                                  s.subgroup_draw / 60 % 60)) x (k, grp, day, pick) "
    "    LEFT JOIN (SELECT group_key, array_agg(key ORDER BY key) AS keys "
    "                 FROM circumstance_subgroups GROUP BY group_key) sub "
    "           ON sub.group_key = x.grp "
    "   WHERE x.grp IS NOT NULL"
    "), new_circumstances AS ("
    "  INSERT INTO child_circumstances (id, child_id, \"group\", subgroup, since, until, "
    "                                   version, created_at, updated_at) "
    "  SELECT " DEMO_UUID("md5('baove-demo-circumstance-' || g || '-' || k)") ", "
    "         child_id, grp, subgroup, since, NULL, 1, $6::timestamptz, $6::timestamptz "
    "    FROM circumstance_rows "
    "  ON CONFLICT (id) DO NOTHING "
    "  RETURNING *"
    /* Supports follow the first group: what the child needs decides the
     * kind, the kind the sector, and protection from harm is intervention. */
    "), support_rows AS ("
    "  SELECT s.g, n.k, s.id AS child_id, kk.kind, "
    "         v.sectors[1 + n.draw % 12 % cardinality(v.sectors)] AS sector, "
    "         CASE WHEN kk.kind IN ('safe_shelter', 'alternative_care', 'legal_aid') "
    "                   OR s.group_1 IN ('i', 'k', 'l', 'm') THEN 'intervention' "
    "              WHEN kk.kind IN ('education_support', 'vocational_training') "
    "                   AND n.draw / 12 % 2 = 0 THEN 'prevention' "
    "              ELSE 'support' END AS level, "
    "         w.start + (n.draw / 24 % ((($7::date + interval '6 months')::date - 1) "
    "                                   - w.start + 1))::integer "
    "           AS provided_on, "
    "         CASE WHEN v.valued THEN 100000 * (3 + n.draw / 4368 % 18) END AS value_vnd, "
    "         v.valued AND n.draw / 78624 % 2 = 0 AS funded_by_fund "
    "    FROM csc s "
    "    JOIN (VALUES ('a', ARRAY['material_aid', 'alternative_care', 'education_support', "
    "                             'health_insurance_card']), "
    "                 ('b', ARRAY['alternative_care', 'material_aid', 'health_insurance_card']), "
    "                 ('c', ARRAY['alternative_care', 'material_aid', 'safe_shelter']), "
    "                 ('d', ARRAY['medical_care', 'health_insurance_card', 'education_support', "
    "                             'material_aid']), "
    "                 ('đ', ARRAY['medical_care', 'health_insurance_card', "
    "                             'psychological_counselling']), "
    "                 ('e', ARRAY['legal_aid', 'psychological_counselling', "
    "                             'vocational_training']), "
    "                 ('g', ARRAY['medical_care', 'psychological_counselling', "
    "                             'vocational_training']), "
    "                 ('h', ARRAY['education_support', 'vocational_training', 'material_aid']), "
    "                 ('i', ARRAY['medical_care', 'psychological_counselling', 'safe_shelter', "
    "                             'legal_aid']), "
    "                 ('k', ARRAY['psychological_counselling', 'legal_aid', "
    "                             'education_support']), "
    "                 ('l', ARRAY['psychological_counselling', 'medical_care', 'legal_aid', "
    "                             'safe_shelter']), "
    "                 ('m', ARRAY['safe_shelter', 'psychological_counselling', 'legal_aid']), "
    "                 ('n', ARRAY['medical_care', 'health_insurance_card', 'material_aid']), "
    "                 ('o', ARRAY['alternative_care', 'safe_shelter', 'material_aid'])) "
    "         menu (grp, kinds) ON menu.grp = s.group_1 "
    "   CROSS JOIN LATERAL (VALUES (1, s.support_draw_1), (2, s.support_draw_2)) n (k, draw) "
    "   CROSS JOIN LATERAL ("
    "         SELECT menu.kinds[1 + (s.support_kind_draw + n.k - 1) % cardinality(menu.kinds)] "
    "                  AS kind) kk "
    "    JOIN (VALUES ('medical_care', ARRAY['health'], true), "
    "                 ('health_insurance_card', ARRAY['health', 'labour'], false), "
    "                 ('psychological_counselling', ARRAY['health', 'ngo', 'labour'], false), "
    "                 ('legal_aid', ARRAY['justice'], false), "
    "                 ('education_support', ARRAY['education', 'union', 'ngo'], true), "
    "                 ('material_aid', ARRAY['labour', 'union', 'ngo', 'other'], true), "
    "                 ('alternative_care', ARRAY['labour'], false), "
    "                 ('safe_shelter', ARRAY['labour', 'police'], false), "
    "                 ('vocational_training', ARRAY['labour', 'education'], true)) "
    "         v (kind, sectors, valued) ON v.kind = kk.kind "
    /* Not before the child's first circumstance began. */
    "   CROSS JOIN LATERAL ("
    "         SELECT greatest($7::date, s.date_of_birth, "
    "                         ($7::date - interval '1 year')::date "
    "                           + (s.since_draw % 426)::integer) AS start) w "
    "   WHERE n.k <= s.support_count"
    "), new_supports AS ("
    "  INSERT INTO child_supports (id, child_id, kind, level, provider_sector, provided_on, "
    "                              value_vnd, funded_by_fund, version, created_at, updated_at) "
    "  SELECT " DEMO_UUID("md5('baove-demo-support-' || g || '-' || k)") ", "
    "         child_id, kind, level, sector, provided_on, value_vnd, funded_by_fund, 1, "
    "         $6::timestamptz, $6::timestamptz "
    "    FROM support_rows "
    "  ON CONFLICT (id) DO NOTHING "
    "  RETURNING *"
    /* Children first, so that a reader of the feed meets a child before its
     * records. */
    "), logged AS ("
    "  INSERT INTO change_log (resource_type, resource_id, child_id, unit_id, operation, "
    "                          version, record) "
    "  SELECT e.resource_type, e.resource_id, e.child_id, e.unit_id, 'create', 1, e.record "
    "    FROM (SELECT 1 AS rank, 'children' AS resource_type, n.id AS resource_id, "
    "                 n.id AS child_id, n.unit_id, n.record "
    "            FROM new_children n "
    "          UNION ALL "
    "          SELECT 2, 'circumstances', r.id, r.child_id, s.unit_id, " DEMO_RECORD_DOCUMENT " "
    "            FROM new_circumstances r JOIN csc s ON s.id = r.child_id "
    "          UNION ALL "
    "          SELECT 3, 'supports', r.id, r.child_id, s.unit_id, " DEMO_RECORD_DOCUMENT " "
    "            FROM new_supports r JOIN csc s ON s.id = r.child_id) e "
    "   ORDER BY e.rank, e.resource_id "
    "  RETURNING resource_type"
    ") "
    "SELECT count(*) FILTER (WHERE resource_type = 'children'), "
    "       count(*) FILTER (WHERE resource_type = 'circumstances'), "
    "       count(*) FILTER (WHERE resource_type = 'supports'), "
    "       (SELECT count(*) FROM new_children WHERE expected <> record) "
    "  FROM logged";

struct demo_batch {
    const struct demo_tree *tree;
    long long first, last, communes;
    /* what the batch created */
    long long children, circumstances, supports;
};

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Runs one statement of a batch; NULL after reporting a failure, with
 * *outcome telling the transaction whether to run the batch again. */
static PGresult *batch_query(PGconn *connection, const char *sql,
                             const struct db_params *params, enum db_outcome *outcome)
{
    PGresult *result = db_query(connection, sql, params);
    if (db_ok(result))
        return result;
    *outcome = db_retryable(result) ? DB_RETRY : DB_FAILED;
    if (*outcome == DB_FAILED)
        fprintf(stderr, "baove-admin: demo data failed: %s",
                result != NULL ? PQresultErrorMessage(result) : PQerrorMessage(connection));
    PQclear(result);
    return NULL;
}

static enum db_outcome run_batch(PGconn *connection, void *context)
{
    struct demo_batch *batch = context;
    enum db_outcome outcome = DB_FAILED;
    /* JIT compiling the batch statement costs more than it saves, and its
     * intermediate results fit in memory at this work_mem. */
    PGresult *result = batch_query(connection,
                                   "SELECT set_config('jit', 'off', true), "
                                   "       set_config('work_mem', '256MB', true)",
                                   NULL, &outcome);
    if (result == NULL)
        return outcome;
    PQclear(result);

    struct db_params params;
    db_params_init(&params);
    db_param_integer(&params, batch->first);
    db_param_integer(&params, batch->last);
    db_param_integer(&params, DEMO_FIRST_CODE);
    db_param_integer(&params, batch->communes);
    db_param_integer(&params, ADMIN_DEMO_MAX_COMMUNES);
    db_param_text(&params, batch->tree->created_at);
    db_param_text(&params, batch->tree->day);
    db_param_text(&params, batch->tree->parent_code);
    db_param_text(&params, batch->tree->parent_from);
    result = batch_query(connection, batch_sql, &params, &outcome);
    if (result == NULL)
        return outcome;
    batch->children = db_integer(result, 0, 0);
    batch->circumstances = db_integer(result, 0, 1);
    batch->supports = db_integer(result, 0, 2);
    long long mismatches = db_integer(result, 0, 3);
    PQclear(result);
    if (mismatches > 0) {
        fprintf(stderr, "baove-admin: demo data: %lld change-log record(s) differ from "
                        "child_document(): update DEMO_CHILD_DOCUMENT in admin/demo.c\n",
                mismatches);
        return DB_FAILED;
    }
    return DB_COMMIT;
}

/* Runs a statement outside any batch; false after reporting a failure. */
static bool demo_command(PGconn *connection, const char *what, const char *sql,
                         const struct db_params *params, PGresult **out)
{
    PGresult *result = db_query(connection, sql, params);
    if (!db_ok(result)) {
        fprintf(stderr, "baove-admin: demo data (%s) failed: %s", what,
                result != NULL ? PQresultErrorMessage(result) : PQerrorMessage(connection));
        PQclear(result);
        return false;
    }
    if (out != NULL)
        *out = result;
    else
        PQclear(result);
    return true;
}

/* Creates the synthetic communes and returns how many communes the children
 * will be spread over, or -1 on failure. */
static long long prepare_communes(PGconn *connection, const struct demo_tree *tree,
                                  long long communes)
{
    struct db_params params;
    db_params_init(&params);
    db_param_integer(&params, DEMO_FIRST_CODE);
    db_param_integer(&params, communes);
    db_param_text(&params, tree->parent_code);
    db_param_text(&params, tree->parent_from);
    PGresult *result;
    if (communes > 0) {
        if (!demo_command(connection, "communes", create_communes_sql, &params, &result))
            return -1;
        fprintf(stderr, "baove-admin: demo communes: %s created, %lld wanted\n",
                PQcmdTuples(result), communes);
        PQclear(result);
    }
    db_param_integer(&params, ADMIN_DEMO_MAX_COMMUNES);
    db_param_text(&params, tree->day);
    if (!demo_command(connection, "communes", count_communes_sql, &params, &result))
        return -1;
    long long count = db_integer(result, 0, 0);
    PQclear(result);
    if (count < 1)
        fprintf(stderr, "baove-admin: demo data: no commune of %s valid on %s\n",
                tree->parent_code, tree->day);
    return count < 1 ? -1 : count;
}

/* Statistics for the planner.  The foreign-key checks against children are
 * planned once per session: with statistics that still say "empty" they
 * scan the whole table for every circumstance and support, so children is
 * analysed before the first batch and again after it. */
static bool analyze(PGconn *connection, const char *sql)
{
    return demo_command(connection, "analyze", sql, NULL, NULL);
}

int admin_seed_demo(PGconn *connection, long long children, long long communes)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    /* Today's tree: 870's of 2020 while it exists, else 82's of 1/7/2025. */
    char district_id[32];
    const struct demo_tree *tree =
        admin_unit_id_today(connection, tree_of_2020.parent_code, district_id,
                            sizeof district_id)
            ? &tree_of_2020
            : &tree_since_2025;
    long long spread = prepare_communes(connection, tree, communes);
    if (spread < 0 || !analyze(connection, "ANALYZE units, children"))
        return 1;
    fprintf(stderr, "baove-admin: demo children: %lld, spread over %lld communes of %s on %s\n",
            children, spread, tree->parent_code, tree->day);
    struct demo_batch total = {0};
    for (long long first = 1; first <= children; first += DEMO_BATCH) {
        struct demo_batch batch = {
            .tree = tree,
            .first = first,
            .last = first + DEMO_BATCH - 1 < children ? first + DEMO_BATCH - 1 : children,
            .communes = communes};
        if (db_transaction(connection, run_batch, &batch) != DB_COMMIT) {
            fprintf(stderr, "baove-admin: demo children %lld-%lld rolled back\n", batch.first,
                    batch.last);
            return 1;
        }
        total.children += batch.children;
        total.circumstances += batch.circumstances;
        total.supports += batch.supports;
        fprintf(stderr, "baove-admin: demo children %lld/%lld: %lld created (%.1f s)\n",
                batch.last, children, batch.children, seconds_since(&start));
        if (first == 1 && !analyze(connection, "ANALYZE children"))
            return 1;
    }
    if (!analyze(connection,
                 "ANALYZE units, children, child_circumstances, child_supports, change_log"))
        return 1;
    fprintf(stderr,
            "baove-admin: demo data: %lld children, %lld circumstances, %lld supports "
            "created in %.1f s\n",
            total.children, total.circumstances, total.supports, seconds_since(&start));
    return 0;
}
