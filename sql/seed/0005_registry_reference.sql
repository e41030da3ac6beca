-- Reference data of the registry.

-- Sub-groups of special circumstances (Decree 56/2017/NĐ-CP Arts. 3–16),
-- where the decree splits a group.  (verify against the decree text)
INSERT INTO circumstance_subgroups (group_key, key, label_vi, label_en) VALUES
    ('a', 'a1', 'Cả cha và mẹ đều chết', 'Both parents died'),
    ('a', 'a2', 'Cha hoặc mẹ chết, người còn lại mất tích theo tuyên bố của tòa án',
                'One parent died, the other declared missing by a court'),
    ('a', 'a3', 'Cha hoặc mẹ chết, người còn lại đang chấp hành án phạt tù hoặc biện pháp xử lý hành chính',
                'One parent died, the other serving a prison sentence or administrative measure'),
    ('a', 'a4', 'Cả cha và mẹ mất tích theo tuyên bố của tòa án',
                'Both parents declared missing by a court'),
    ('b', 'b1', 'Bị bỏ rơi chưa xác định được cha mẹ', 'Abandoned, parents not identified'),
    ('b', 'b2', 'Bị cha mẹ bỏ rơi, đã xác định được cha mẹ', 'Abandoned by identified parents'),
    ('l', 'l1', 'Bị hiếp dâm', 'Rape'),
    ('l', 'l2', 'Bị cưỡng dâm', 'Forced sexual intercourse'),
    ('l', 'l3', 'Bị giao cấu', 'Sexual intercourse with a child'),
    ('l', 'l4', 'Bị dâm ô', 'Molestation'),
    ('l', 'l5', 'Bị sử dụng vào mục đích mại dâm, khiêu dâm',
                'Used for prostitution or pornography'),
    ('n', 'n1', 'Thuộc hộ nghèo', 'In a poor household'),
    ('n', 'n2', 'Thuộc hộ cận nghèo', 'In a near-poor household')
ON CONFLICT (group_key, key) DO UPDATE
   SET label_vi = EXCLUDED.label_vi, label_en = EXCLUDED.label_en;

-- Risk of falling into special circumstances: configurable categories.
INSERT INTO risk_categories (key, label_vi, label_en) VALUES
    ('violence', 'Có nguy cơ bị bạo lực', 'At risk of violence'),
    ('sexual_abuse', 'Có nguy cơ bị xâm hại tình dục', 'At risk of sexual abuse'),
    ('exploitation', 'Có nguy cơ bị bóc lột', 'At risk of exploitation'),
    ('trafficking', 'Có nguy cơ bị mua bán', 'At risk of trafficking'),
    ('abandonment', 'Có nguy cơ bị bỏ rơi', 'At risk of abandonment'),
    ('dropping_out', 'Có nguy cơ bỏ học', 'At risk of dropping out of school'),
    ('conflict_with_law', 'Có nguy cơ vi phạm pháp luật', 'At risk of conflict with the law'),
    ('drug_use', 'Có nguy cơ nghiện ma túy', 'At risk of drug use'),
    ('family_breakdown', 'Gia đình có nguy cơ tan vỡ, thiếu người chăm sóc',
                         'Family breakdown or lack of care'),
    ('other', 'Nguy cơ khác', 'Other risk')
ON CONFLICT (key) DO UPDATE SET label_vi = EXCLUDED.label_vi, label_en = EXCLUDED.label_en;

-- Kinds of support (Law on Children Arts. 47–50).
INSERT INTO support_kinds (key, label_vi, label_en) VALUES
    ('medical_care', 'Chăm sóc y tế', 'Medical care'),
    ('psychological_counselling', 'Tư vấn, trị liệu tâm lý', 'Psychological counselling'),
    ('legal_aid', 'Trợ giúp pháp lý', 'Legal aid'),
    ('education_support', 'Hỗ trợ giáo dục', 'Education support'),
    ('material_aid', 'Trợ giúp vật chất, quà tặng', 'Material aid, including gifts'),
    ('health_insurance_card', 'Cấp thẻ bảo hiểm y tế', 'Health insurance card'),
    ('alternative_care', 'Chăm sóc thay thế', 'Alternative care'),
    ('safe_shelter', 'Bố trí nơi tạm trú an toàn', 'Safe shelter'),
    ('vocational_training', 'Hỗ trợ học nghề', 'Vocational training'),
    ('other', 'Hỗ trợ khác', 'Other support')
ON CONFLICT (key) DO UPDATE SET label_vi = EXCLUDED.label_vi, label_en = EXCLUDED.label_en;
