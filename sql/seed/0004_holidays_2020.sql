-- Vietnam's public holidays of 2020 (Labour Code 2012 Art. 115 and the
-- Prime Minister's Tết schedule for 2020).  Weekends are not listed: the
-- calendar skips them by rule.
INSERT INTO public_holidays (day, name_vi, name_en) VALUES
    ('2020-01-01', 'Tết Dương lịch', 'New Year''s Day'),
    ('2020-01-23', 'Tết Nguyên đán', 'Lunar New Year (Tết)'),
    ('2020-01-24', 'Tết Nguyên đán', 'Lunar New Year (Tết)'),
    ('2020-01-25', 'Tết Nguyên đán', 'Lunar New Year (Tết)'),
    ('2020-01-26', 'Tết Nguyên đán', 'Lunar New Year (Tết)'),
    ('2020-01-27', 'Tết Nguyên đán', 'Lunar New Year (Tết)'),
    ('2020-01-28', 'Tết Nguyên đán', 'Lunar New Year (Tết)'),
    ('2020-01-29', 'Tết Nguyên đán', 'Lunar New Year (Tết)'),
    ('2020-04-02', 'Giỗ Tổ Hùng Vương', 'Hùng Kings'' Commemoration'),
    ('2020-04-30', 'Ngày Giải phóng miền Nam, thống nhất đất nước', 'Reunification Day'),
    ('2020-05-01', 'Ngày Quốc tế Lao động', 'International Labour Day'),
    ('2020-09-02', 'Quốc khánh', 'National Day')
ON CONFLICT (day) DO UPDATE SET name_vi = EXCLUDED.name_vi, name_en = EXCLUDED.name_en;

-- 2020 follows this list (the decision), not the default rules of the
-- Labour Code 2019, which took effect in 2021.
INSERT INTO calendar_years (year, decision)
VALUES (2020, 'Labour Code 2012 Art. 115; the Prime Minister''s Tết schedule for 2020')
ON CONFLICT (year) DO NOTHING;
