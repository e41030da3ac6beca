-- Kế hoạch thực hiện Chương trình Bảo vệ trẻ em huyện Hồng Ngự năm 2020
-- (under the provincial DOLISA plan 10/KH-SLĐTBXH): section I, targets.
INSERT INTO plans (year, title, reference, unit_id)
SELECT 2020, 'Kế hoạch thực hiện Chương trình Bảo vệ trẻ em huyện Hồng Ngự năm 2020',
       '10/KH-SLĐTBXH', district.id
  FROM units district WHERE district.code = '870' AND district.valid_from = '2000-01-01'
ON CONFLICT (year) DO UPDATE
   SET title = EXCLUDED.title, reference = EXCLUDED.reference, unit_id = EXCLUDED.unit_id;

INSERT INTO plan_targets (year, code, comparator, numerator, denominator, description) VALUES
    (2020, 'csc_rate', 'lt', 3, 100,
     'Children in special circumstances below 3 % of all children'),
    (2020, 'csc_supported_rate', 'ge', 93, 100,
     'At least 93 % of children in special circumstances supported or cared for')
ON CONFLICT (year, code) DO UPDATE
   SET comparator = EXCLUDED.comparator, numerator = EXCLUDED.numerator,
       denominator = EXCLUDED.denominator, description = EXCLUDED.description;

-- Fund mobilisation: 100 000 000 VND at district level, 20 000 000 VND for
-- each of the 10 commune-level units valid in 2020 (300 000 000 in all).
INSERT INTO fund_targets (year, unit_id, amount_vnd)
SELECT 2020, unit.id,
       CASE unit.kind WHEN 'district' THEN 100000000 ELSE 20000000 END
  FROM units unit
  JOIN units district ON district.code = '870' AND district.valid_from = '2000-01-01'
 WHERE unit.id = district.id
    OR (unit.parent_id = district.id AND unit.valid_from <= '2020-01-01'
        AND (unit.valid_to IS NULL OR unit.valid_to >= '2020-12-31'))
ON CONFLICT (year, unit_id) DO UPDATE SET amount_vnd = EXCLUDED.amount_vnd;
