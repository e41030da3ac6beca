-- Administrative units of Hồng Ngự district (GSO codes) as they stood for the
-- 2020 plan.  valid_from 2000-01-01 is the earliest date Baove knows for a
-- unit that already existed, not a legal founding date.
-- Not seeded on purpose: the reorganisation of 1/7/2025 (district level
-- abolished, province code 82): see ../../docs and the closing notes.
INSERT INTO units (code, name, kind, parent_id, valid_from, valid_to)
VALUES ('87', 'Tỉnh Đồng Tháp', 'province', NULL, '2000-01-01', NULL)
ON CONFLICT (code, valid_from) DO UPDATE
   SET name = EXCLUDED.name, kind = EXCLUDED.kind, valid_to = EXCLUDED.valid_to;

INSERT INTO units (code, name, kind, parent_id, valid_from, valid_to)
SELECT '870', 'Huyện Hồng Ngự', 'district', province.id, '2000-01-01', NULL
  FROM units province WHERE province.code = '87' AND province.valid_from = '2000-01-01'
ON CONFLICT (code, valid_from) DO UPDATE
   SET name = EXCLUDED.name, kind = EXCLUDED.kind, parent_id = EXCLUDED.parent_id,
       valid_to = EXCLUDED.valid_to;

INSERT INTO units (code, name, kind, parent_id, valid_from, valid_to)
SELECT commune.code, commune.name, commune.kind, district.id, '2000-01-01'::date,
       commune.valid_to::date
  FROM (VALUES
        ('29956', 'Xã Thường Phước 1', 'commune', NULL),
        ('29962', 'Xã Thường Thới Hậu A', 'commune', NULL),
        ('29968', 'Xã Thường Thới Hậu B', 'commune', '2019-12-31'),
        ('29971', 'Thị trấn Thường Thới Tiền', 'township', NULL),
        ('29974', 'Xã Thường Phước 2', 'commune', NULL),
        ('29977', 'Xã Thường Lạc', 'commune', NULL),
        ('29980', 'Xã Long Khánh A', 'commune', NULL),
        ('29983', 'Xã Long Khánh B', 'commune', NULL),
        ('29992', 'Xã Long Thuận', 'commune', NULL),
        ('29995', 'Xã Phú Thuận B', 'commune', NULL),
        ('29998', 'Xã Phú Thuận A', 'commune', NULL)
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
