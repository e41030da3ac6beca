-- Law on Children 2016, Art. 10: groups of children in special circumstances.
INSERT INTO circumstance_groups (key, position, label_vi, label_en) VALUES
    ('a', 1, 'Trẻ em mồ côi cả cha và mẹ', 'Orphaned of both parents'),
    ('b', 2, 'Trẻ em bị bỏ rơi', 'Abandoned'),
    ('c', 3, 'Trẻ em không nơi nương tựa', 'With no one to rely on'),
    ('d', 4, 'Trẻ em khuyết tật', 'With disabilities'),
    ('đ', 5, 'Trẻ em nhiễm HIV/AIDS', 'Living with HIV/AIDS'),
    ('e', 6, 'Trẻ em vi phạm pháp luật', 'In conflict with the law'),
    ('g', 7, 'Trẻ em nghiện ma túy', 'Drug-addicted'),
    ('h', 8, 'Trẻ em phải bỏ học kiếm sống chưa hoàn thành phổ cập giáo dục trung học cơ sở',
             'Out of school to earn a living before finishing lower secondary'),
    ('i', 9, 'Trẻ em bị tổn hại nghiêm trọng về thể chất và tinh thần do bị bạo lực',
             'Seriously harmed physically and mentally by violence'),
    ('k', 10, 'Trẻ em bị bóc lột', 'Exploited'),
    ('l', 11, 'Trẻ em bị xâm hại tình dục', 'Sexually abused'),
    ('m', 12, 'Trẻ em bị mua bán', 'Trafficked'),
    ('n', 13, 'Trẻ em mắc bệnh hiểm nghèo hoặc bệnh phải điều trị dài ngày thuộc hộ nghèo hoặc hộ cận nghèo',
              'Serious or long-term illness in a poor or near-poor household'),
    ('o', 14, 'Trẻ em di cư, trẻ em lánh nạn, tị nạn chưa xác định được cha mẹ hoặc không có người chăm sóc',
              'Migrant or refugee child with no identified parent or carer')
ON CONFLICT (key) DO UPDATE
   SET position = EXCLUDED.position, label_vi = EXCLUDED.label_vi, label_en = EXCLUDED.label_en;
