-- Ties the payments to the order status: a returned order is refunded in full
-- (its successful refunds cancel its successful charges: net paid is zero) and an
-- order that is not returned has no successful refund.
with

fct_orders as (

    select * from {{ ref('fct_orders') }}

),

final as (

    select
        order_id,
        status,
        amount_paid_usd,
        amount_refunded_usd,
        net_paid_usd

    from fct_orders
    where
        (is_returned and net_paid_usd != 0)
        or (not is_returned and amount_refunded_usd != 0)

)

select * from final
