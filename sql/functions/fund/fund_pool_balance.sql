-- What is left in one pool of a unit's books: the general pool (both
-- earmark arguments NULL), a child's, or a purpose's; money, or goods
-- received in kind (valued), which only a disbursement of goods hands out:
-- a gift of exercise books never pays a cash grant.  Sums as numeric: no
-- count of entries can overflow them; the result fits bigint as long as
-- the books do not hold more than 9.2 × 10^18 đồng.
--
-- Voided payments (0012) count in no pool.
CREATE OR REPLACE FUNCTION fund_pool_balance(pool_unit bigint, pool_child uuid,
                                             pool_purpose text, pool_in_kind boolean)
    RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT ((SELECT coalesce(sum(p.amount_vnd), 0) FROM fund_payments p
              WHERE p.unit_id = pool_unit AND p.voided_on IS NULL
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
GRANT EXECUTE ON FUNCTION fund_pool_balance(bigint, uuid, text, boolean) TO baove_app;
