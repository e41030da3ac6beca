-- Administrative units of Hồng Ngự district (GSO codes) as they stood for the
-- 2020 plan.  valid_from 2000-01-01 is the earliest date Baove knows for a
-- unit that already existed, not a legal founding date.
-- The reorganisation of 1/7/2025 (district level abolished, province code
-- 82, new communes reusing old codes) follows below the 2020 tree.
INSERT INTO units (code, name, kind, parent_id, valid_from, valid_to)
VALUES ('87', 'Tỉnh Đồng Tháp', 'province', NULL, '2000-01-01', '2025-06-30')
ON CONFLICT (code, valid_from) DO UPDATE
   SET name = EXCLUDED.name, kind = EXCLUDED.kind, valid_to = EXCLUDED.valid_to;

INSERT INTO units (code, name, kind, parent_id, valid_from, valid_to)
SELECT '870', 'Huyện Hồng Ngự', 'district', province.id, '2000-01-01', '2025-06-30'
  FROM units province WHERE province.code = '87' AND province.valid_from = '2000-01-01'
ON CONFLICT (code, valid_from) DO UPDATE
   SET name = EXCLUDED.name, kind = EXCLUDED.kind, parent_id = EXCLUDED.parent_id,
       valid_to = EXCLUDED.valid_to;

INSERT INTO units (code, name, kind, parent_id, valid_from, valid_to)
SELECT commune.code, commune.name, commune.kind, district.id, '2000-01-01'::date,
       commune.valid_to::date
  FROM (VALUES
        ('29956', 'Xã Thường Phước 1', 'commune', '2025-06-30'),
        ('29962', 'Xã Thường Thới Hậu A', 'commune', '2025-06-30'),
        ('29968', 'Xã Thường Thới Hậu B', 'commune', '2019-12-31'),
        ('29971', 'Thị trấn Thường Thới Tiền', 'township', '2025-06-30'),
        ('29974', 'Xã Thường Phước 2', 'commune', '2025-06-30'),
        ('29977', 'Xã Thường Lạc', 'commune', '2025-06-30'),
        ('29980', 'Xã Long Khánh A', 'commune', '2025-06-30'),
        ('29983', 'Xã Long Khánh B', 'commune', '2025-06-30'),
        ('29992', 'Xã Long Thuận', 'commune', '2025-06-30'),
        ('29995', 'Xã Phú Thuận B', 'commune', '2025-06-30'),
        ('29998', 'Xã Phú Thuận A', 'commune', '2025-06-30')
       ) AS commune (code, name, kind, valid_to)
  JOIN units district ON district.code = '870' AND district.valid_from = '2000-01-01'
ON CONFLICT (code, valid_from) DO UPDATE
   SET name = EXCLUDED.name, kind = EXCLUDED.kind, parent_id = EXCLUDED.parent_id,
       valid_to = EXCLUDED.valid_to;

-- Xã Thường Thới Hậu B merged into Xã Thường Lạc on 1/1/2020.
INSERT INTO unit_successions (predecessor_id, successor_id, effective_on, note)
SELECT merged.id, absorbing.id, '2020-01-01', 'Xã Thường Thới Hậu B nhập vào Xã Thường Lạc'
  FROM units merged, units absorbing
 WHERE merged.code = '29968' AND merged.valid_from = '2000-01-01'
   AND absorbing.code = '29977' AND absorbing.valid_from = '2000-01-01'
ON CONFLICT (predecessor_id, successor_id) DO UPDATE
   SET effective_on = EXCLUDED.effective_on, note = EXCLUDED.note;

-- 1/7/2025 (Resolution 1663/NQ-UBTVQH15): Đồng Tháp and Tiền Giang merged
-- as Tỉnh Đồng Tháp under code 82; the district level ended on 30/6/2025
-- and the new communes hang directly off the province.  They reuse old
-- codes for new areas, so each is a new row valid from 2025-07-01.
INSERT INTO units (code, name, kind, parent_id, valid_from, valid_to)
VALUES ('82', 'Tỉnh Đồng Tháp', 'province', NULL, '2025-07-01', NULL)
ON CONFLICT (code, valid_from) DO UPDATE
   SET name = EXCLUDED.name, kind = EXCLUDED.kind, valid_to = EXCLUDED.valid_to;

INSERT INTO units (code, name, kind, parent_id, valid_from, valid_to)
SELECT commune.code, commune.name, commune.kind, province.id, '2025-07-01'::date, NULL
  FROM (VALUES
        ('29971', 'Xã Thường Phước', 'commune'),
        ('29978', 'Phường Thường Lạc', 'ward'),
        ('29983', 'Xã Long Khánh', 'commune'),
        ('29992', 'Xã Long Phú Thuận', 'commune'),
        ('30154', 'Xã Tân Long', 'commune')
       ) AS commune (code, name, kind)
  JOIN units province ON province.code = '82' AND province.valid_from = '2025-07-01'
ON CONFLICT (code, valid_from) DO UPDATE
   SET name = EXCLUDED.name, kind = EXCLUDED.kind, parent_id = EXCLUDED.parent_id,
       valid_to = EXCLUDED.valid_to;

-- Who went where.  Phú Thuận B split between Long Phú Thuận and Tân Long:
-- which of its hamlets went to which is to be checked against the
-- resolution's final text (docs/domain.md), so its two parts carry no
-- hamlets yet and `baove-admin units apply` leaves its records where they
-- are and lists them.  An administrator fills in `hamlets` (the seed never
-- overwrites them) and applies again.
INSERT INTO unit_successions (predecessor_id, successor_id, effective_on, kind, note)
SELECT old.id, new.id, '2025-07-01', succession.kind, succession.note
  FROM (VALUES
        ('87', '82', 'whole', 'Tỉnh Đồng Tháp và Tỉnh Tiền Giang hợp nhất thành Tỉnh Đồng Tháp'),
        ('29971', '29971', 'whole', 'Thị trấn Thường Thới Tiền vào Xã Thường Phước'),
        ('29956', '29971', 'whole', 'Xã Thường Phước 1 vào Xã Thường Phước'),
        ('29974', '29971', 'whole', 'Xã Thường Phước 2 vào Xã Thường Phước'),
        ('29980', '29983', 'whole', 'Xã Long Khánh A vào Xã Long Khánh'),
        ('29983', '29983', 'whole', 'Xã Long Khánh B vào Xã Long Khánh'),
        ('29992', '29992', 'whole', 'Xã Long Thuận vào Xã Long Phú Thuận'),
        ('29998', '29992', 'whole', 'Xã Phú Thuận A vào Xã Long Phú Thuận'),
        ('29995', '29992', 'part', 'Một phần Xã Phú Thuận B vào Xã Long Phú Thuận'),
        ('29995', '30154', 'part', 'Phần còn lại của Xã Phú Thuận B vào Xã Tân Long'),
        ('29962', '29978', 'whole', 'Xã Thường Thới Hậu A vào Phường Thường Lạc'),
        ('29977', '29978', 'whole', 'Xã Thường Lạc vào Phường Thường Lạc')
       ) AS succession (old_code, new_code, kind, note)
  JOIN units old ON old.code = succession.old_code AND old.valid_to = '2025-06-30'
  JOIN units new ON new.code = succession.new_code AND new.valid_from = '2025-07-01'
ON CONFLICT (predecessor_id, successor_id) DO UPDATE
   SET effective_on = EXCLUDED.effective_on, kind = EXCLUDED.kind, note = EXCLUDED.note;
