-- Kế hoạch thực hiện Chương trình Bảo vệ trẻ em huyện Hồng Ngự năm 2020
-- (under the provincial DOLISA plan 10/KH-SLĐTBXH): section I, targets, and
-- the fund's mobilisation targets: 100 000 000 VND at district level,
-- 20 000 000 VND for each of the 10 commune-level units valid in 2020
-- (300 000 000 in all).  Written by plan_put(), the function behind PUT
-- /v1/plans/{year}, which also creates the year's report periods from the
-- rules (0014).  Re-seeding keeps a plan edited through the API: the plan is
-- written only when the year has none.
DO $$
DECLARE
    problems jsonb;
BEGIN
    IF EXISTS (SELECT FROM plans WHERE year = 2020) THEN
        RETURN;
    END IF;
    problems := plan_put(2020::smallint, '{
    "title": "Kế hoạch thực hiện Chương trình Bảo vệ trẻ em huyện Hồng Ngự năm 2020",
    "reference": "10/KH-SLĐTBXH",
    "unit": "870",
    "targets": [
        {"code": "csc_rate", "comparator": "lt", "numerator": 3, "denominator": 100,
         "description": "Children in special circumstances below 3 % of all children"},
        {"code": "csc_supported_rate", "comparator": "ge", "numerator": 93,
         "denominator": 100,
         "description": "At least 93 % of children in special circumstances supported or cared for"}
    ],
    "fund_targets": [
        {"unit": "870", "amount_vnd": 100000000},
        {"unit": "29956", "amount_vnd": 20000000}, {"unit": "29962", "amount_vnd": 20000000},
        {"unit": "29971", "amount_vnd": 20000000}, {"unit": "29974", "amount_vnd": 20000000},
        {"unit": "29977", "amount_vnd": 20000000}, {"unit": "29980", "amount_vnd": 20000000},
        {"unit": "29983", "amount_vnd": 20000000}, {"unit": "29992", "amount_vnd": 20000000},
        {"unit": "29995", "amount_vnd": 20000000}, {"unit": "29998", "amount_vnd": 20000000}
    ]}'::jsonb, now());
    IF problems <> '[]' THEN
        RAISE EXCEPTION 'the plan of 2020 was refused: %', problems;
    END IF;
END
$$;
